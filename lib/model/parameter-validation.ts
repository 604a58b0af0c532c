import type { ParameterValue, SchemaDataType, SchemaRule } from './types.js';

/**
 * Validation of one parameter value against one configuration schema rule (README section 1.1,
 * "Configuration"). Pure functions on plain values with no Node imports, so the console's parameter
 * form can run exactly what the server runs.
 */

/** Is it a string, number, boolean or a list of one of these (all of one type)? */
export function isParameterValue(v: unknown): v is ParameterValue {
  if (typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (!Array.isArray(v)) return false;
  if (v.length === 0) return true;
  const t = typeof v[0];
  if (t !== 'string' && t !== 'number' && t !== 'boolean') return false;
  return v.every((x) => typeof x === t && (t !== 'number' || Number.isFinite(x as number)));
}

export function elementType(dataType: SchemaDataType): 'string' | 'integer' | 'double' | 'boolean' {
  const m = /^array\[(\w+)\]$/.exec(dataType);
  return (m ? m[1] : dataType) as 'string' | 'integer' | 'double' | 'boolean';
}

export function isArrayType(dataType: SchemaDataType): boolean {
  return dataType.startsWith('array[');
}

/** Is the schema a select (has options)? Select schemas take a value from `options`. */
export function isSelect(schema: SchemaRule): boolean {
  return schema.options !== undefined;
}

/** Number of decimal places in the shortest representation of `n` (`1.25` → 2, `1e-7` → 7, `3` → 0). */
export function decimalPlaces(n: number): number {
  const s = String(Math.abs(n));
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(s);
  if (!m) return 0;
  const frac = m[2]?.length ?? 0;
  const exp = m[3] ? Number(m[3]) : 0;
  return Math.max(0, frac - exp);
}

const regexCache = new Map<string, RegExp | null>();

/** Compiles a schema's regexMatch (cached); null when it is not a valid JavaScript regular expression. */
export function compileRegexMatch(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    try {
      re = new RegExp(pattern);
    } catch {
      re = null;
    }
    if (regexCache.size >= 256) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

/** Longest string a regexMatch is run on: bounds the cost of a pathological pattern (ADR 0102). */
export const MAX_REGEX_INPUT = 10_000;

function checkScalar(
  v: unknown,
  type: ReturnType<typeof elementType>,
  schema: SchemaRule,
  label: string,
): string[] {
  const out: string[] = [];
  switch (type) {
    case 'string': {
      if (typeof v !== 'string') return [`${label}must be a string`];
      if (v === '') {
        // Empty text is governed by allowEmpty alone; the length and pattern rules apply to given text.
        if (schema.allowEmpty !== true) out.push(`${label}must not be empty`);
        return out;
      }
      const len = [...v].length;
      if (schema.minLength !== undefined && len < schema.minLength) {
        out.push(`${label}must have at least ${schema.minLength} characters (has ${len})`);
      }
      if (schema.maxLength !== undefined && len > schema.maxLength) {
        out.push(`${label}must have at most ${schema.maxLength} characters (has ${len})`);
      }
      if (schema.regexMatch !== undefined) {
        const re = compileRegexMatch(schema.regexMatch);
        if (re === null)
          out.push(`${label}cannot be checked: the schema's regexMatch is not a valid pattern`);
        else if (v.length > MAX_REGEX_INPUT) out.push(`${label}is too long to check against the pattern`);
        else if (!re.test(v)) out.push(`${label}must match ${schema.regexMatch}`);
      }
      return out;
    }
    case 'integer':
    case 'double': {
      if (typeof v !== 'number' || !Number.isFinite(v))
        return [`${label}must be ${type === 'integer' ? 'an integer' : 'a number'}`];
      if (type === 'integer' && !Number.isSafeInteger(v)) return [`${label}must be an integer`];
      if (schema.minValue !== undefined && v < schema.minValue)
        out.push(`${label}must be at least ${schema.minValue}`);
      if (schema.maxValue !== undefined && v > schema.maxValue)
        out.push(`${label}must be at most ${schema.maxValue}`);
      if (type === 'double') {
        const places = decimalPlaces(v);
        if (schema.minPrecision !== undefined && places < schema.minPrecision) {
          out.push(`${label}must have at least ${schema.minPrecision} decimal places`);
        }
        if (schema.maxPrecision !== undefined && places > schema.maxPrecision) {
          out.push(
            `${label}must have at most ${schema.maxPrecision} decimal place${schema.maxPrecision === 1 ? '' : 's'}`,
          );
        }
      }
      return out;
    }
    case 'boolean':
      return typeof v === 'boolean' ? [] : [`${label}must be true or false`];
  }
}

/**
 * Checks `value` against `schema`; returns one message per broken rule (empty when the value is valid).
 * `undefined` (no value) is valid only when the schema has `allowEmpty: true` (the spec's default is false).
 */
export function checkParameterValue(value: unknown, schema: SchemaRule): string[] {
  const type = elementType(schema.dataType);
  const isArray = isArrayType(schema.dataType) || (isSelect(schema) && schema.multiselect === true);
  if (value === undefined || value === null) {
    return schema.allowEmpty === true ? [] : ['a value is required'];
  }
  if (isSelect(schema)) {
    const options = schema.options ?? [];
    const inOptions = (x: unknown) => options.some((o) => o === x);
    if (isArray) {
      if (!Array.isArray(value)) return ['must be a list of options'];
      if (value.length === 0) return schema.allowEmpty === true ? [] : ['select at least one option'];
      const out: string[] = [];
      value.forEach((x, i) => {
        if (!inOptions(x))
          out.push(
            `item ${i + 1}: ${JSON.stringify(x)} is not one of the options ${options.map((o) => JSON.stringify(o)).join(', ')}`,
          );
      });
      if (new Set(value).size !== value.length) out.push('an option is selected more than once');
      return out;
    }
    if (value === '' && schema.allowEmpty === true) return [];
    return inOptions(value)
      ? []
      : [
          `${JSON.stringify(value)} is not one of the options ${options.map((o) => JSON.stringify(o)).join(', ')}`,
        ];
  }
  if (isArray) {
    if (!Array.isArray(value)) return [`must be a list of ${type} values`];
    if (value.length === 0) return schema.allowEmpty === true ? [] : ['must not be empty'];
    return value.flatMap((x, i) =>
      checkScalar(x, type, { ...schema, allowEmpty: schema.allowEmpty }, `item ${i + 1}: `),
    );
  }
  return checkScalar(value, type, schema, '');
}

/** Does a value have the shape of a data type (ignoring the rules)? */
export function matchesDataType(value: unknown, dataType: SchemaDataType): boolean {
  const type = elementType(dataType);
  const ok = (x: unknown) =>
    type === 'string'
      ? typeof x === 'string'
      : type === 'boolean'
        ? typeof x === 'boolean'
        : typeof x === 'number' && Number.isFinite(x) && (type === 'double' || Number.isSafeInteger(x));
  return isArrayType(dataType) ? Array.isArray(value) && value.every(ok) : ok(value);
}
