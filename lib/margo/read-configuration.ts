import {
  checkParameterValue,
  compileRegexMatch,
  elementType,
  isParameterValue,
  matchesDataType,
  PARAMETER_NAME,
  SCHEMA_DATA_TYPES,
  describe,
  isObject,
  type Obj,
  type Reader,
  type Path,
  type Configuration,
  type Parameter,
  type ParameterTarget,
  type SchemaDataType,
  type SchemaRule,
  type Setting,
} from '../model/index.js';

/** Reads `parameters` and `configuration` of an ApplicationDescription (README section 1.1). */

/** The spec examples write `parameters: ...` as a placeholder; we accept it with a warning (ADR 0100). */
export const PLACEHOLDER = '...';

export function readParameters(
  r: Reader,
  v: unknown,
  componentNames: ReadonlySet<string>,
): Record<string, Parameter> {
  const path: Path = ['parameters'];
  const out: Record<string, Parameter> = {};
  if (v === undefined || v === null) return out;
  if (v === PLACEHOLDER) {
    r.problems.warn(path, 'the placeholder "..." is not a parameter map; read as no parameters');
    return out;
  }
  const obj = r.object(path, v);
  if (!obj) return out;
  for (const [name, pv] of Object.entries(obj)) {
    const p = [...path, name];
    if (!PARAMETER_NAME.test(name)) {
      // Reported, and still read: settings that name it should not fail as well.
      r.problems.error(
        p,
        `parameter name ${JSON.stringify(name)} must match ${PARAMETER_NAME.source}`,
        'key',
      );
    }
    const po = r.object(p, pv);
    if (!po) continue;
    r.keys(p, po, ['value', 'targets'], { what: 'a parameter' });
    const param: Parameter = { targets: [] };
    if (po.value !== undefined) {
      if (isParameterValue(po.value)) param.value = po.value;
      else {
        r.problems.error(
          [...p, 'value'],
          `must be a string, number, boolean, or a list of one of these (all of one type), not ${describe(po.value)}`,
        );
      }
    }
    const targets = r.list(p, po, 'targets', { required: true, nonEmpty: true });
    targets?.forEach((t, i) => {
      const tp = [...p, 'targets', i];
      const to = r.object(tp, t);
      if (!to) return;
      r.keys(tp, to, ['pointer', 'components'], { what: 'a parameter target' });
      const pointer = r.string(tp, to, 'pointer', { required: true });
      const comps = r.list(tp, to, 'components', { required: true, nonEmpty: true });
      const components: string[] = [];
      comps?.forEach((c, j) => {
        if (typeof c !== 'string') {
          r.problems.error([...tp, 'components', j], `must be a component name, not ${describe(c)}`);
        } else if (!componentNames.has(c)) {
          const known = [...componentNames].sort().join(', ');
          r.problems.error(
            [...tp, 'components', j],
            `"${c}" is not a component of any deployment profile (components: ${known})`,
          );
        } else components.push(c);
      });
      if (pointer !== undefined && comps) {
        const target: ParameterTarget = { pointer, components };
        param.targets.push(target);
      }
    });
    out[name] = param;
  }
  return out;
}

const COMMON_RULE_KEYS = ['name', 'dataType', 'allowEmpty'] as const;
const RULE_KEYS: Record<'string' | 'integer' | 'double' | 'boolean' | 'select', readonly string[]> = {
  string: ['minLength', 'maxLength', 'regexMatch'],
  integer: ['minValue', 'maxValue'],
  double: ['minValue', 'maxValue', 'minPrecision', 'maxPrecision'],
  boolean: [],
  select: ['multiselect', 'options'],
};

function readSchemaRule(r: Reader, path: Path, v: unknown): SchemaRule | undefined {
  const o = r.object(path, v);
  if (!o) return undefined;
  const name = r.string(path, o, 'name', { required: true });
  const dataType = r.oneOf(path, o, 'dataType', SCHEMA_DATA_TYPES, true) as SchemaDataType | undefined;
  if (!dataType) {
    r.keys(path, o, [...COMMON_RULE_KEYS, ...new Set(Object.values(RULE_KEYS).flat())], { what: 'a schema' });
    return undefined;
  }
  const type = elementType(dataType);
  const select = o.options !== undefined || o.multiselect !== undefined;
  const kind = select ? 'select' : type;
  const allowed = [...COMMON_RULE_KEYS, ...RULE_KEYS[kind]];
  for (const key of Object.keys(o)) {
    if (allowed.includes(key)) continue;
    const forType = Object.entries(RULE_KEYS).find(([, keys]) => keys.includes(key));
    if (forType) {
      const what = select ? 'a select schema (one with options)' : `dataType ${dataType}`;
      r.problems.error(
        [...path, key],
        `${key} is not allowed for ${what}; it belongs to ${forType[0]} schemas`,
        'key',
      );
    } else r.problems.error([...path, key], `unknown key ${JSON.stringify(key)} in a schema`, 'key');
  }
  if (name === undefined) return undefined;
  const rule: SchemaRule = { name, dataType };
  const allowEmpty = r.boolean(path, o, 'allowEmpty');
  if (allowEmpty !== undefined) rule.allowEmpty = allowEmpty;
  const nonNeg = { integer: true, min: 0 };
  const num = (key: keyof SchemaRule, opts: { integer?: boolean; min?: number } = {}) => {
    if (!allowed.includes(key)) return;
    const n = r.number(path, o, key, opts);
    if (n !== undefined) (rule as unknown as Record<string, unknown>)[key] = n;
  };
  num('minLength', nonNeg);
  num('maxLength', nonNeg);
  num('minValue', { integer: type === 'integer' });
  num('maxValue', { integer: type === 'integer' });
  num('minPrecision', nonNeg);
  num('maxPrecision', nonNeg);
  const pairs: [keyof SchemaRule, keyof SchemaRule][] = [
    ['minLength', 'maxLength'],
    ['minValue', 'maxValue'],
    ['minPrecision', 'maxPrecision'],
  ];
  for (const [lo, hi] of pairs) {
    const a = rule[lo] as number | undefined;
    const b = rule[hi] as number | undefined;
    if (a !== undefined && b !== undefined && a > b) {
      r.problems.error([...path, lo], `${lo} (${a}) must not be greater than ${hi} (${b})`);
    }
  }
  if (allowed.includes('regexMatch')) {
    const re = r.string(path, o, 'regexMatch');
    if (re !== undefined) {
      if (compileRegexMatch(re) === null)
        r.problems.error([...path, 'regexMatch'], `${JSON.stringify(re)} is not a valid regular expression`);
      else rule.regexMatch = re;
    }
  }
  if (select) {
    const multiselect = r.boolean(path, o, 'multiselect');
    if (multiselect !== undefined) rule.multiselect = multiselect;
    const options = r.list(path, o, 'options', { required: true, nonEmpty: true });
    if (options) {
      const ok: (string | number | boolean)[] = [];
      options.forEach((opt, i) => {
        if (!matchesDataType(opt, type as SchemaDataType)) {
          r.problems.error(
            [...path, 'options', i],
            `option ${JSON.stringify(opt)} does not match dataType ${dataType}`,
          );
        } else ok.push(opt as string | number | boolean);
      });
      rule.options = ok;
    }
  }
  return rule;
}

export function readConfiguration(
  r: Reader,
  v: unknown,
  parameters: Record<string, Parameter>,
): Configuration | undefined {
  const path: Path = ['configuration'];
  if (v === undefined || v === null) return undefined;
  if (v === PLACEHOLDER) {
    r.problems.warn(path, 'the placeholder "..." is not a configuration; read as no configuration');
    return undefined;
  }
  const o = r.object(path, v);
  if (!o) return undefined;
  r.keys(path, o, ['sections', 'schema'], { what: 'configuration' });
  const schema: SchemaRule[] = [];
  /** Rules read without a problem: only these check default values (no cascades from a broken rule). */
  const clean = new Set<SchemaRule>();
  const byName = new Map<string, number>();
  r.list(path, o, 'schema', { required: true })?.forEach((s, i) => {
    const before = r.problems.errorCount();
    const rawName = isObject(s) && typeof s.name === 'string' ? s.name : undefined;
    const prev = rawName === undefined ? undefined : byName.get(rawName);
    if (rawName !== undefined && prev === undefined) byName.set(rawName, i);
    const rule = readSchemaRule(r, [...path, 'schema', i], s);
    if (!rule) return;
    if (prev !== undefined) {
      r.problems.error(
        [...path, 'schema', i, 'name'],
        `duplicate schema name "${rule.name}" (also configuration.schema[${prev}])`,
      );
      return;
    }
    schema.push(rule);
    if (r.problems.errorCount() === before) clean.add(rule);
  });
  const sections: Configuration['sections'] = [];
  r.list(path, o, 'sections', { required: true })?.forEach((s, i) => {
    const sp = [...path, 'sections', i];
    const so = r.object(sp, s);
    if (!so) return;
    r.keys(sp, so, ['name', 'settings'], { what: 'a section' });
    const name = r.string(sp, so, 'name', { required: true });
    const settings: Setting[] = [];
    r.list(sp, so, 'settings', { required: true })?.forEach((st, j) => {
      const setting = readSetting(r, [...sp, 'settings', j], st, parameters, byName);
      if (setting) settings.push(setting);
    });
    if (name !== undefined) sections.push({ name, settings });
  });
  const config: Configuration = { sections, schema };
  checkDefaults(r, parameters, config, clean);
  return config;
}

function readSetting(
  r: Reader,
  path: Path,
  v: unknown,
  parameters: Record<string, Parameter>,
  schemaNames: ReadonlyMap<string, number>,
): Setting | undefined {
  const o: Obj | undefined = r.object(path, v);
  if (!o) return undefined;
  r.keys(path, o, ['parameter', 'name', 'description', 'immutable', 'schema'], { what: 'a setting' });
  const parameter = r.string(path, o, 'parameter', { required: true });
  if (parameter !== undefined && !Object.prototype.hasOwnProperty.call(parameters, parameter)) {
    r.problems.error([...path, 'parameter'], `"${parameter}" is not a parameter of this description`);
  }
  const name = r.string(path, o, 'name', { required: true });
  const description = r.string(path, o, 'description');
  const immutable = r.boolean(path, o, 'immutable');
  const schema = r.string(path, o, 'schema', { required: true });
  if (schema !== undefined && !schemaNames.has(schema)) {
    r.problems.error([...path, 'schema'], `"${schema}" is not a schema of configuration.schema`);
  }
  if (parameter === undefined || name === undefined || schema === undefined) return undefined;
  const setting: Setting = { parameter, name, schema };
  if (description !== undefined) setting.description = description;
  if (immutable !== undefined) setting.immutable = immutable;
  return setting;
}

/** A default value must satisfy the schema of every setting that names its parameter. */
function checkDefaults(
  r: Reader,
  parameters: Record<string, Parameter>,
  config: Configuration,
  clean: ReadonlySet<SchemaRule>,
): void {
  const rules = new Map([...clean].map((s) => [s.name, s]));
  for (const section of config.sections) {
    for (const setting of section.settings) {
      const param = parameters[setting.parameter];
      const rule = rules.get(setting.schema);
      if (!param || !rule || param.value === undefined) continue;
      for (const message of checkParameterValue(param.value, rule)) {
        r.problems.error(
          ['parameters', setting.parameter, 'value'],
          `default ${JSON.stringify(param.value)} breaks schema "${rule.name}": ${message}`,
        );
      }
    }
  }
}
