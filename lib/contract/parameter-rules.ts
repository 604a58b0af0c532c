/**
 * The parameter rules the server applies to a deployment's values, for the console's parameter form:
 * the same functions of lib/model, not a copy, so the form and `edgectl co deploy --set` accept and refuse
 * exactly the same values with the same messages (ADR 0281).
 */
import { formatPath } from '../model/index.js';

export {
  checkParameterValue,
  elementType,
  isArrayType,
  isParameterValue,
  isSelect,
  coerceParameterInput,
  parameterDataType,
  resolveParameters,
  settingsByParameter,
  type ResolvedParameter,
} from '../model/index.js';

/** The `field` of the server's field problems about parameter `name` (`parameters.greeting`). */
export function parameterField(name: string): string {
  return formatPath(['parameters', name]);
}
