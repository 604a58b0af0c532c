/**
 * The parameter rules the server applies to a deployment's values, for the console's parameter form:
 * the same functions, not a copy, so the form and `edgectl co deploy --set` accept and refuse exactly
 * the same values with the same messages (ADR 0281).
 *
 * These modules of core/margo import nothing but types, core/errors and each other. The lint rule that
 * keeps the rest of core out of the contract is lifted for these three imports only; the renderer
 * typecheck (no Node types) follows them, so a Node import added there fails it.
 */
/* eslint-disable no-restricted-imports -- browser-safe modules (see above) */
export {
  checkParameterValue,
  elementType,
  isArrayType,
  isParameterValue,
  isSelect,
} from '../margo/parameter-validation.js';
export {
  coerceParameterInput,
  parameterDataType,
  resolveParameters,
  settingsByParameter,
  type ResolvedParameter,
} from '../margo/resolve-parameters.js';
import { formatPath } from '../margo/problems.js';
/* eslint-enable no-restricted-imports */

/** The `field` of the server's field problems about parameter `name` (`parameters.greeting`). */
export function parameterField(name: string): string {
  return formatPath(['parameters', name]);
}
