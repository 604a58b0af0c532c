import type { AppVersion } from '../../../lib/contract/index.js';

/** Margo description parts in words, for the detail view (display only). */

export type Description = AppVersion['description'];
export type Profile = Description['deploymentProfiles'][number];
export type Constraints = NonNullable<Profile['deviceConstraints']>;
export type Rule = NonNullable<Constraints['eligibilityRules']>[number];
export type Expression = NonNullable<Rule['propertySelector']>['matchExpressions'][number];
export type Configuration = NonNullable<Description['configuration']>;
export type SchemaRule = Configuration['schema'][number];
export type ParameterValue = NonNullable<Description['parameters'][string]['value']>;

/** `CPU: at least 2 cores, architecture amd64 or arm64`, `Memory: at least 4Gi`, ... */
export function capacityLines(c: Constraints): string[] {
  const cap = c.capacityRequirements;
  const capacity: string[] = [];
  if (cap?.cpu)
    capacity.push(
      `CPU: at least ${cap.cpu.cores} core${cap.cpu.cores === 1 ? '' : 's'}${
        cap.cpu.architectures?.length ? `, architecture ${cap.cpu.architectures.join(' or ')}` : ''
      }`,
    );
  if (cap?.memory) capacity.push(`Memory: at least ${cap.memory}`);
  if (cap?.storage) capacity.push(`Storage: at least ${cap.storage}`);
  return capacity;
}

/** `/vendor In ["A", "B"]`, `gpu Exists`, `/peripherals ContainsAny { /type In ["gpu"] }`. */
export function expressionText(e: Expression): string {
  const values = e.values?.length ? ` [${e.values.map((v) => JSON.stringify(v)).join(', ')}]` : '';
  const item = e.itemSelector?.matchExpressions.length
    ? ` { ${e.itemSelector.matchExpressions.map(expressionText).join(e.operator === 'ContainsAny' ? ' or ' : ' and ')} }`
    : '';
  return `${e.key} ${e.operator}${values}${item}`;
}

export function formatValue(v: ParameterValue): string {
  return typeof v === 'string' ? v : Array.isArray(v) ? v.map((x) => String(x)).join(', ') : String(v);
}

/** `integer, 1 to 3600, required`, `string, length 1 to 80, matches ^a`, `one of a, b`. */
export function ruleText(r: SchemaRule): string {
  const parts: string[] = [r.dataType];
  const range = (lo: number | undefined, hi: number | undefined, what = '') =>
    lo !== undefined && hi !== undefined
      ? `${what}${lo} to ${hi}`
      : lo !== undefined
        ? `${what}at least ${lo}`
        : hi !== undefined
          ? `${what}at most ${hi}`
          : null;
  const len = range(r.minLength, r.maxLength, 'length ');
  if (len) parts.push(len);
  const val = range(r.minValue, r.maxValue);
  if (val) parts.push(val);
  const prec = range(r.minPrecision, r.maxPrecision, 'precision ');
  if (prec) parts.push(prec);
  if (r.regexMatch) parts.push(`matches ${r.regexMatch}`);
  if (r.options?.length)
    parts.push(`${r.multiselect ? 'any of' : 'one of'} ${r.options.map((o) => String(o)).join(', ')}`);
  if (r.allowEmpty === true) parts.push('may be empty');
  else if (r.allowEmpty === false) parts.push('required');
  return parts.join(', ');
}
