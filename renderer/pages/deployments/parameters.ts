import {
  type AppVersion,
  coerceParameterInput,
  isArrayType,
  parameterDataType,
  resolveParameters,
  parameterField,
} from '../../../lib/contract/index.js';
import { OutpostError, type FieldProblem } from '../../../lib/errors/index.js';

/**
 * The model of the parameter form: one input per setting of each configuration section (chosen by the
 * schema's data type), plain text inputs for parameters no setting names, and the check the server runs
 * on the values (the server's own `resolveParameters`, ADR 0281).
 */

export type Description = AppVersion['description'];
type Configuration = NonNullable<Description['configuration']>;
export type SchemaRule = Configuration['schema'][number];
type SchemaDataType = SchemaRule['dataType'];
type Option = NonNullable<SchemaRule['options']>[number];

export type InputKind = 'text' | 'number' | 'switch' | 'select' | 'multiselect' | 'chips';

/** What an input holds while the operator types: text, a switch position, option keys or chip texts. */
export type RawValue = string | boolean | string[];

export interface ParamField {
  /** Unique within the form (a parameter may be named by more than one setting). */
  key: string;
  parameter: string;
  label: string;
  description?: string | undefined;
  kind: InputKind;
  rule?: SchemaRule | undefined;
  /** What typed text is converted to (as `--set` converts it); undefined: text as it is. */
  dataType?: SchemaDataType | undefined;
  /** Select inputs: each option with its key (its JSON text). */
  options?: { key: string; value: Option }[];
  immutable: boolean;
}

export interface FormSection {
  name: string;
  fields: ParamField[];
}

/** Key of a select option: its JSON text, so `1` and `"1"` stay apart. */
export const optionKey = (v: unknown): string => JSON.stringify(v);

function kindFor(rule: SchemaRule | undefined, defaultValue: unknown): InputKind {
  if (!rule) return 'text';
  if (rule.options !== undefined)
    return rule.multiselect === true || isArrayType(rule.dataType) ? 'multiselect' : 'select';
  if (isArrayType(rule.dataType)) return 'chips';
  switch (rule.dataType) {
    case 'boolean':
      // A switch cannot say "not set": without a default, true/false is a choice to make.
      return defaultValue === undefined ? 'select' : 'switch';
    case 'integer':
    case 'double':
      return 'number';
    default:
      return 'text';
  }
}

/** The sections of the form, in the description's order, and a last one for parameters no setting names. */
export function buildForm(desc: Description): FormSection[] {
  const rules = new Map((desc.configuration?.schema ?? []).map((r) => [r.name, r]));
  const named = new Set<string>();
  const sections: FormSection[] = [];
  let n = 0;
  for (const section of desc.configuration?.sections ?? []) {
    const fields: ParamField[] = [];
    for (const s of section.settings) {
      const param = desc.parameters[s.parameter];
      if (!param) continue;
      named.add(s.parameter);
      const rule = rules.get(s.schema);
      const kind = kindFor(rule, param.value);
      const options =
        kind === 'select' || kind === 'multiselect'
          ? (rule?.options ?? [true, false]).map((o) => ({ key: optionKey(o), value: o }))
          : undefined;
      fields.push({
        key: `${n++}:${s.parameter}`,
        parameter: s.parameter,
        label: s.name,
        description: s.description,
        kind,
        rule,
        dataType: parameterDataType(desc, s.parameter),
        ...(options ? { options } : {}),
        immutable: s.immutable === true,
      });
    }
    if (fields.length) sections.push({ name: section.name, fields });
  }
  const rest = Object.keys(desc.parameters)
    .filter((p) => !named.has(p))
    .map<ParamField>((p) => ({
      key: `${n++}:${p}`,
      parameter: p,
      label: p,
      kind: 'text',
      dataType: parameterDataType(desc, p),
      immutable: false,
    }));
  if (rest.length) sections.push({ name: 'Other parameters', fields: rest });
  return sections;
}

/** Every field of the form, one per parameter (the first setting that names it decides the input). */
export function fieldsByParameter(sections: FormSection[]): Map<string, ParamField> {
  const out = new Map<string, ParamField>();
  for (const s of sections) for (const f of s.fields) if (!out.has(f.parameter)) out.set(f.parameter, f);
  return out;
}

function textOf(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) {
    const items = v.map((x) => String(x));
    // A comma inside an item would split it: write the list as JSON then (the CLI reads both).
    return items.some((x) => x.includes(',')) ? JSON.stringify(v) : items.join(', ');
  }
  return String(v);
}

/** What the input shows for a value (a default, or the value a deployment runs with). */
export function rawOf(field: ParamField, value: unknown): RawValue {
  switch (field.kind) {
    case 'switch':
      return value === true;
    case 'select':
      return value === undefined ? '' : optionKey(value);
    case 'multiselect':
      return Array.isArray(value) ? value.map(optionKey) : value === undefined ? [] : [optionKey(value)];
    case 'chips':
      return Array.isArray(value) ? value.map((x) => String(x)) : [];
    default:
      return textOf(value);
  }
}

/** The typed value of an input, converted as `edgectl co deploy --set` converts text (throws invalid-input). */
export function valueOf(field: ParamField, raw: RawValue): unknown {
  switch (field.kind) {
    case 'switch':
      return raw === true;
    case 'select':
      return raw === '' ? '' : (JSON.parse(raw as string) as unknown);
    case 'multiselect':
      return (raw as string[]).map((k) => JSON.parse(k) as unknown);
    case 'chips':
      return coerceParameterInput(JSON.stringify(raw), field.dataType, field.parameter);
    default:
      return coerceParameterInput(raw as string, field.dataType, field.parameter);
  }
}

/** The starting values of the form: `values` (e.g. what a deployment runs with), else the defaults. */
export function initialRaws(
  desc: Description,
  sections: FormSection[],
  values: Record<string, unknown> = {},
): Record<string, RawValue> {
  const out: Record<string, RawValue> = {};
  for (const [p, f] of fieldsByParameter(sections))
    out[p] = rawOf(f, p in values ? values[p] : desc.parameters[p]?.value);
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export interface FormCheck {
  /** The values to send: only parameters the operator changed, typed. */
  given: Record<string, unknown>;
  /** Problems per parameter, in the server's words. */
  problems: Record<string, string[]>;
  /** Problems that name no parameter of the form (e.g. the profile). */
  other: FieldProblem[];
  ok: boolean;
}

/**
 * Runs what the server runs on create (`previous` absent) or update (`previous`: the values the
 * deployment runs with; immutable settings must keep them): the values the operator changed, merged
 * the same way the server merges them, checked by the server's own rules.
 */
export function checkForm(
  desc: Description,
  profileId: string,
  sections: FormSection[],
  raws: Record<string, RawValue>,
  initial: Record<string, RawValue>,
  previous?: Record<string, unknown>,
): FormCheck {
  const given: Record<string, unknown> = {};
  const problems: Record<string, string[]> = {};
  const other: FieldProblem[] = [];
  const fieldNames = new Map<string, string>();
  const fields = fieldsByParameter(sections);
  for (const [p, f] of fields) {
    fieldNames.set(parameterField(p), p);
    const raw = raws[p];
    if (raw === undefined || same(raw, initial[p])) continue;
    try {
      given[p] = valueOf(f, raw);
    } catch (err) {
      problems[p] = [conversionMessage(err)];
    }
  }
  const base: Record<string, unknown> = {};
  if (previous) for (const [k, v] of Object.entries(previous)) if (k in desc.parameters) base[k] = v;
  const merged = { ...base, ...given };
  const unconverted = new Set(Object.keys(problems));
  try {
    resolveParameters(desc, profileId, merged, previous ? { previous: previous as never } : {});
  } catch (err) {
    const e = OutpostError.from(err);
    for (const fp of e.errors ?? [{ field: '', message: e.message }]) {
      const p = fieldNames.get(fp.field);
      if (p === undefined) other.push(fp);
      else if (!unconverted.has(p)) (problems[p] ??= []).push(fp.message);
    }
  }
  return { given, problems, other, ok: Object.keys(problems).length === 0 && other.length === 0 };
}

function conversionMessage(err: unknown): string {
  const e = OutpostError.from(err);
  return e.errors?.[0]?.message ?? e.message;
}

/** Server field problems about parameters, by parameter name (for showing a refusal on its inputs). */
export function problemsByParameter(
  sections: FormSection[],
  errors: FieldProblem[] | undefined,
): { byParameter: Record<string, string[]>; rest: FieldProblem[] } {
  const names = new Map([...fieldsByParameter(sections).keys()].map((p) => [parameterField(p), p]));
  const byParameter: Record<string, string[]> = {};
  const rest: FieldProblem[] = [];
  for (const fp of errors ?? []) {
    const p = names.get(fp.field);
    if (p !== undefined) (byParameter[p] ??= []).push(fp.message);
    else rest.push(fp);
  }
  return { byParameter, rest };
}

/** Does any field problem concern the parameters (`parameters.x`, `parameters["x"]`, `set.x`)? */
export const isParameterProblem = (fp: FieldProblem): boolean => /^(parameters|set)(\.|\[|$)/.test(fp.field);

/** Which profile targets does a parameter reach? (A parameter outside the profile is not required.) */
export function reachesProfile(desc: Description, profileId: string, parameter: string): boolean {
  const profile = desc.deploymentProfiles.find((p) => p.id === profileId);
  if (!profile) return true;
  const components = new Set(profile.components.map((c) => c.name));
  return (desc.parameters[parameter]?.targets ?? []).some((t) => t.components.some((c) => components.has(c)));
}
