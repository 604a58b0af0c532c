import { OutpostError, type FieldProblem } from '../errors/index.js';
import { checkParameterValue, elementType, isArrayType, isParameterValue } from './parameter-validation.js';
import { formatPath, summarize } from './problems.js';
import type {
  ApplicationDescription,
  ParameterTarget,
  ParameterValue,
  SchemaDataType,
  SchemaRule,
  Setting,
} from './types.js';

/** A parameter value chosen for one deployment, with the targets inside the chosen profile. */
export interface ResolvedParameter {
  value: ParameterValue;
  targets: ParameterTarget[];
  /** Where the value came from. */
  source: 'default' | 'given';
  /** A setting marks it immutable: it must not change once deployed. */
  immutable: boolean;
}

export interface ResolveParametersOptions {
  /** Values of the deployment being updated: immutable settings must keep them. */
  previous?: Record<string, ParameterValue>;
}

const field = (name: string) => formatPath(['parameters', name]);

/** Settings (and their schema rules) that name each parameter. */
export function settingsByParameter(
  desc: ApplicationDescription,
): Map<string, { setting: Setting; rule: SchemaRule }[]> {
  const rules = new Map((desc.configuration?.schema ?? []).map((s) => [s.name, s]));
  const out = new Map<string, { setting: Setting; rule: SchemaRule }[]>();
  for (const section of desc.configuration?.sections ?? []) {
    for (const setting of section.settings) {
      const rule = rules.get(setting.schema);
      if (!rule) continue;
      const list = out.get(setting.parameter) ?? [];
      list.push({ setting, rule });
      out.set(setting.parameter, list);
    }
  }
  return out;
}

/** Unknown parameters named one by one in an error; more are counted. */
const MAX_UNKNOWN_NAMED = 10;

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Chooses the value of every parameter for a deployment of `profileId`: the given value or the
 * description's default, checked against the schema of every setting that names the parameter. Only
 * parameters with a value and a target in the profile are returned, their targets narrowed to the
 * profile's components. Throws `invalid-input` with one FieldProblem (`parameters.<name>`) per bad value.
 */
export function resolveParameters(
  desc: ApplicationDescription,
  profileId: string,
  given: Record<string, unknown>,
  opts: ResolveParametersOptions = {},
): Record<string, ResolvedParameter> {
  const profile = desc.deploymentProfiles.find((p) => p.id === profileId);
  if (!profile) {
    const known = desc.deploymentProfiles.map((p) => p.id).join(', ');
    const message = `deployment profile "${profileId}" is not in application "${desc.id}" (profiles: ${known})`;
    throw new OutpostError('invalid-input', message, { errors: [{ field: 'profileId', message }] });
  }
  const components = new Set(profile.components.map((c) => c.name));
  const settings = settingsByParameter(desc);
  const errors: FieldProblem[] = [];
  const fail = (name: string, message: string) => errors.push({ field: field(name), message });

  // Unknown names: the first few are named, the rest counted (a request may send thousands).
  const unknown = Object.keys(given).filter((n) => !Object.prototype.hasOwnProperty.call(desc.parameters, n));
  const known = Object.keys(desc.parameters);
  const knownText = known.length ? `parameters: ${known.join(', ')}` : 'the application has no parameters';
  for (const name of unknown.slice(0, MAX_UNKNOWN_NAMED))
    fail(name, `unknown parameter "${name}" (${knownText})`);
  if (unknown.length > MAX_UNKNOWN_NAMED)
    errors.push({
      field: 'parameters',
      message: `and ${unknown.length - MAX_UNKNOWN_NAMED} more unknown parameters, not listed (${knownText})`,
    });

  const out: Record<string, ResolvedParameter> = {};
  for (const [name, param] of Object.entries(desc.parameters)) {
    const isGiven = Object.prototype.hasOwnProperty.call(given, name) && given[name] !== undefined;
    const value = isGiven ? given[name] : param.value;
    const targets = param.targets
      .map((t) => ({ pointer: t.pointer, components: t.components.filter((c) => components.has(c)) }))
      .filter((t) => t.components.length > 0);
    const ruled = settings.get(name) ?? [];
    const before = errors.length;
    if (isGiven && !isParameterValue(value)) {
      fail(name, 'must be a string, number, boolean, or a list of one of these (all of one type)');
      continue;
    }
    // A parameter that does not reach this profile is not required here; a given value is still checked.
    if (value !== undefined || targets.length > 0) {
      for (const { rule } of ruled) for (const m of checkParameterValue(value, rule)) fail(name, m);
    }
    const immutable = ruled.some(({ setting }) => setting.immutable === true);
    const prev = opts.previous?.[name];
    if (immutable && prev !== undefined && value !== undefined && !sameValue(prev, value)) {
      fail(
        name,
        `is immutable: it was ${JSON.stringify(prev)} and cannot change to ${JSON.stringify(value)}`,
      );
    }
    if (errors.length > before || value === undefined || targets.length === 0) continue;
    out[name] = { value: value as ParameterValue, targets, source: isGiven ? 'given' : 'default', immutable };
  }
  if (errors.length > 0) {
    const problems = errors.map((e) => ({ path: e.field, message: e.message, severity: 'error' as const }));
    throw new OutpostError('invalid-input', summarize(`parameters of "${desc.id}"`, problems), { errors });
  }
  return out;
}

/**
 * The data type a parameter's input should be coerced to: the schema of its first setting (a
 * multiselect makes it a list), else the type of its default, else undefined (free text).
 */
export function parameterDataType(desc: ApplicationDescription, name: string): SchemaDataType | undefined {
  const first = settingsByParameter(desc).get(name)?.[0]?.rule;
  if (first) {
    if (first.options !== undefined && first.multiselect === true && !isArrayType(first.dataType)) {
      return `array[${first.dataType}]` as SchemaDataType;
    }
    return first.dataType;
  }
  const v = desc.parameters[name]?.value;
  const scalar = (x: unknown): 'string' | 'integer' | 'double' | 'boolean' | undefined =>
    typeof x === 'string'
      ? 'string'
      : typeof x === 'boolean'
        ? 'boolean'
        : typeof x === 'number'
          ? Number.isInteger(x)
            ? 'integer'
            : 'double'
          : undefined;
  if (Array.isArray(v)) {
    const t = v.length > 0 ? scalar(v[0]) : 'string';
    return t ? (`array[${t}]` as SchemaDataType) : undefined;
  }
  return scalar(v);
}

const INTEGER = /^[+-]?\d+$/;
const DOUBLE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function coerceScalar(raw: string, type: 'string' | 'integer' | 'double' | 'boolean'): unknown {
  const s = raw.trim();
  switch (type) {
    case 'string':
      return raw;
    case 'integer': {
      const n = Number(s);
      if (!INTEGER.test(s) || !Number.isSafeInteger(n))
        throw new Error(`${JSON.stringify(raw)} is not an integer`);
      return n;
    }
    case 'double': {
      const n = Number(s);
      if (!DOUBLE.test(s) || !Number.isFinite(n)) throw new Error(`${JSON.stringify(raw)} is not a number`);
      return n;
    }
    case 'boolean': {
      const l = s.toLowerCase();
      if (l === 'true') return true;
      if (l === 'false') return false;
      throw new Error(`${JSON.stringify(raw)} is not true or false`);
    }
  }
}

/**
 * Turns a command-line string (`--set name=value`) into a value of `dataType`: numbers, `true`/`false`,
 * and for list types either a JSON array (`["a","b"]`) or a comma-separated list (`a, b`; empty text is
 * an empty list). Without a data type the text is returned as it is. Throws `invalid-input`.
 */
export function coerceParameterInput(raw: string, dataType?: SchemaDataType, name?: string): unknown {
  if (dataType === undefined) return raw;
  const type = elementType(dataType);
  try {
    if (!isArrayType(dataType)) return coerceScalar(raw, type);
    const s = raw.trim();
    if (s.startsWith('[')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(s);
      } catch {
        throw new Error(`${JSON.stringify(raw)} is not a JSON array`);
      }
      if (!Array.isArray(parsed)) throw new Error(`${JSON.stringify(raw)} is not a JSON array`);
      return parsed.map((x, i) => {
        if (typeof x === 'string' && type !== 'string') return coerceScalar(x, type);
        const ok =
          type === 'string'
            ? typeof x === 'string'
            : type === 'boolean'
              ? typeof x === 'boolean'
              : typeof x === 'number' && (type === 'double' || Number.isSafeInteger(x));
        if (!ok)
          throw new Error(
            `item ${i + 1} (${JSON.stringify(x)}) is not ${type === 'integer' ? 'an integer' : `a ${type}`}`,
          );
        return x;
      });
    }
    if (s === '') return [];
    return raw.split(',').map((part) => coerceScalar(type === 'string' ? part.trim() : part, type));
  } catch (err) {
    const message = `${(err as Error).message} (expected ${dataType})`;
    const f = name !== undefined ? field(name) : 'value';
    throw new OutpostError('invalid-input', `${f}: ${message}`, { errors: [{ field: f, message }] });
  }
}
