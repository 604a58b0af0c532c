/**
 * Margo `deviceConstraints` compiled once per request into fast predicates
 * (the Margo specification, the device-specific runtime SUP):
 * - capacity first (CPU cores and architectures, memory, storage), then the eligibility rules;
 * - expressions in a selector are ANDed, both selectors of a rule must match, rules are ORed;
 * - property keys are RFC 6901 pointers into the capabilities `properties`, label keys exact names;
 * - strings compare exactly (case-sensitive); a value of another JSON type makes the expression false.
 *
 * Compilation validates every expression the way the spec words it (values present or omitted, one
 * type, one boolean, one number for Gt/Lt, itemSelector for ContainsAll/ContainsAny, valid pointers)
 * and throws one `placement/invalid-constraints` error listing every problem, so a bad description
 * never reaches the hot loop and never crashes it.
 */
import { OutpostError, type FieldProblem } from '../../lib/errors/index.js';
import {
  type CpuArchitecture,
  type DeploymentProfile,
  type DeviceConstraints,
  type InterfaceType,
  type MatchExpression,
  type PeripheralType,
  type Selector,
  parseByteQuantity,
} from '../../lib/model/index.js';
import {
  ABSENT as ABSENT_VALUE,
  compileGetter,
  compilePointer,
  type CompiledPointer,
} from './json-pointer.js';

// A local copy: some loaders (the vitest transform) turn each use of an imported binding into a property read.
const ABSENT = ABSENT_VALUE;

export const ARCHITECTURES: readonly CpuArchitecture[] = ['amd64', 'arm64', 'arm', 'riscv64', 'other'];
export const PERIPHERAL_TYPES: readonly PeripheralType[] = [
  'gpu',
  'display',
  'camera',
  'microphone',
  'speaker',
  'other',
];
export const INTERFACE_TYPES: readonly InterfaceType[] = [
  'ethernet',
  'wifi',
  'cellular',
  'bluetooth',
  'usb',
  'canbus',
  'rs232',
  'other',
];

export function bitOf<T>(list: readonly T[], value: T): number {
  const i = list.indexOf(value);
  return i < 0 ? 0 : 1 << i;
}

/** One compiled match expression. */
export interface CompiledExpression {
  /** For messages, e.g. `/vendor In ["A","B"]` or `label "example.com/os" Exists`. */
  readonly text: string;
  test(root: unknown): boolean;
  /** Why `test(root)` is false; call it only then (it allocates). */
  explain(root: unknown): string;
}

export interface CompiledRule {
  /** 1-based, as shown to people. */
  readonly number: number;
  readonly property: readonly CompiledExpression[] | null;
  readonly label: readonly CompiledExpression[] | null;
}

export interface CompiledCapacity {
  cpuCores: number;
  /** Requested architectures as a bit mask over ARCHITECTURES; 0 = any. */
  archMask: number;
  architectures: readonly CpuArchitecture[];
  /** NaN when the profile does not ask for it. */
  memoryBytes: number;
  storageBytes: number;
  hasCpu: boolean;
}

export interface CompiledConstraints {
  capacity: CompiledCapacity;
  peripherals: readonly { type: PeripheralType; bit: number; manufacturer?: string; model?: string }[];
  peripheralMask: number;
  interfaceMask: number;
  interfaces: readonly InterfaceType[];
  /** null = no eligibility rules (capacity only). */
  rules: readonly CompiledRule[] | null;
  /** Peripheral types the app asks for (legacy list or a `/peripherals` item selector): used for scoring. */
  wantedPeripheralMask: number;
}

type Kind = 'property' | 'label' | 'item';
type Scalar = 'string' | 'number' | 'boolean';

function jsonType(v: unknown): string {
  if (v === ABSENT) return 'absent';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function show(v: unknown): string {
  if (v === ABSENT) return 'absent';
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** All elements of `arr` are of scalar type `t`. */
function allOfType(arr: readonly unknown[], t: Scalar): boolean {
  for (let i = 0; i < arr.length; i++) if (typeof arr[i] !== t) return false;
  return true;
}

function includes(values: readonly unknown[], v: unknown): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] === v) return true;
  return false;
}

function subject(kind: Kind, key: string): string {
  return kind === 'label' ? `label "${key}"` : key === '' ? '(whole document)' : key;
}

function compileExpression(
  expr: MatchExpression,
  path: string,
  kind: Kind,
  problems: FieldProblem[],
): CompiledExpression | null {
  const before = problems.length;
  if (!expr || typeof expr !== 'object') {
    problems.push({ field: path, message: 'must be an object with key and operator' });
    return null;
  }
  const key = expr.key;
  if (typeof key !== 'string') {
    problems.push({ field: `${path}.key`, message: 'must be a string' });
    return null;
  }
  let tokens: CompiledPointer;
  if (kind === 'label') {
    tokens = [key];
    if (key === '') problems.push({ field: `${path}.key`, message: 'a label key must not be empty' });
  } else {
    const c = compilePointer(key);
    if ('error' in c) {
      problems.push({ field: `${path}.key`, message: c.error });
      return null;
    }
    tokens = c;
  }
  const get = compileGetter(tokens);
  const op = expr.operator;
  const values = expr.values as unknown;
  const who = subject(kind, key);
  const needNoValues = (): void => {
    if (values !== undefined)
      problems.push({ field: `${path}.values`, message: `must be omitted for ${op}` });
  };

  switch (op) {
    case 'In':
    case 'NotIn': {
      if (!Array.isArray(values) || values.length === 0) {
        problems.push({ field: `${path}.values`, message: `${op} needs one or more values` });
        return null;
      }
      const t = typeof values[0];
      if (t !== 'string' && t !== 'number' && t !== 'boolean') {
        problems.push({
          field: `${path}.values`,
          message: `${op} values must be strings, numbers or one boolean`,
        });
        return null;
      }
      if (!allOfType(values, t)) {
        problems.push({
          field: `${path}.values`,
          message: `${op} values must all have one type (found mixed types)`,
        });
        return null;
      }
      if (t === 'boolean' && values.length > 1) {
        problems.push({ field: `${path}.values`, message: `${op} takes exactly one boolean value` });
        return null;
      }
      if (expr.itemSelector !== undefined)
        problems.push({ field: `${path}.itemSelector`, message: `must be omitted for ${op}` });
      if (problems.length > before) return null;
      const vals: readonly unknown[] = values.slice();
      const valsText = show(vals);
      const text = `${who} ${op} ${valsText}`;
      if (op === 'In') {
        return {
          text,
          test(root) {
            const v = get(root);
            if (typeof v === t) return includes(vals, v);
            if (Array.isArray(v) && allOfType(v, t)) {
              for (let i = 0; i < v.length; i++) if (includes(vals, v[i])) return true;
            }
            return false;
          },
          explain(root) {
            const v = get(root);
            if (v === ABSENT) return `${who} is absent`;
            if (typeof v === t) return `${who} is ${show(v)}, not in ${valsText}`;
            if (Array.isArray(v) && allOfType(v, t))
              return `${who} is ${show(v)}: no element is in ${valsText}`;
            return `${who} is ${jsonType(v)} ${show(v)}, expected ${t}`;
          },
        };
      }
      return {
        text,
        test(root) {
          const v = get(root);
          if (typeof v === t) return !includes(vals, v);
          if (Array.isArray(v) && allOfType(v, t)) {
            for (let i = 0; i < v.length; i++) if (includes(vals, v[i])) return false;
            return true;
          }
          return false;
        },
        explain(root) {
          const v = get(root);
          if (v === ABSENT) return `${who} is absent (NotIn needs the key)`;
          if (typeof v === t) return `${who} is ${show(v)}, which is in ${valsText}`;
          if (Array.isArray(v) && allOfType(v, t))
            return `${who} is ${show(v)}: an element is in ${valsText}`;
          return `${who} is ${jsonType(v)} ${show(v)}, expected ${t}`;
        },
      };
    }
    case 'Exists':
    case 'DoesNotExist': {
      needNoValues();
      if (expr.itemSelector !== undefined)
        problems.push({ field: `${path}.itemSelector`, message: `must be omitted for ${op}` });
      if (problems.length > before) return null;
      const exists = op === 'Exists';
      return {
        text: `${who} ${op}`,
        test: (root) => (get(root) !== ABSENT) === exists,
        explain: (root) => (exists ? `${who} is absent` : `${who} exists (${show(get(root))})`),
      };
    }
    case 'Gt':
    case 'Lt': {
      const raw = Array.isArray(values) && values.length === 1 ? (values[0] as unknown) : undefined;
      const bound =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && raw.trim() !== ''
            ? Number(raw)
            : Number.NaN;
      if (!Number.isFinite(bound)) {
        problems.push({ field: `${path}.values`, message: `${op} takes exactly one number` });
        return null;
      }
      if (expr.itemSelector !== undefined)
        problems.push({ field: `${path}.itemSelector`, message: `must be omitted for ${op}` });
      if (problems.length > before) return null;
      const gt = op === 'Gt';
      return {
        text: `${who} ${op} ${bound}`,
        test(root) {
          const v = get(root);
          if (typeof v !== 'number') return false;
          return gt ? v > bound : v < bound;
        },
        explain(root) {
          const v = get(root);
          if (v === ABSENT) return `${who} is absent`;
          if (typeof v !== 'number') return `${who} is ${jsonType(v)} ${show(v)}, expected a number`;
          return `${who} is ${v}, not ${gt ? '>' : '<'} ${bound}`;
        },
      };
    }
    case 'ContainsAll':
    case 'ContainsAny': {
      needNoValues();
      const items = expr.itemSelector?.matchExpressions;
      if (!Array.isArray(items) || items.length === 0) {
        problems.push({
          field: `${path}.itemSelector.matchExpressions`,
          message: `${op} needs an itemSelector with one or more expressions`,
        });
        return null;
      }
      const compiled: CompiledExpression[] = [];
      items.forEach((item, i) => {
        const c = compileExpression(item, `${path}.itemSelector.matchExpressions[${i}]`, 'item', problems);
        if (c) compiled.push(c);
      });
      if (problems.length > before) return null;
      const all = op === 'ContainsAll';
      const n = compiled.length;
      const elementMatches = (el: unknown): boolean => {
        if (all) {
          for (let j = 0; j < n; j++) if (!compiled[j]!.test(el)) return false;
          return true;
        }
        for (let j = 0; j < n; j++) if (compiled[j]!.test(el)) return true;
        return false;
      };
      const isObjectArray = (v: unknown): v is unknown[] => {
        if (!Array.isArray(v) || v.length === 0) return false;
        for (let i = 0; i < v.length; i++) if (!isPlainObject(v[i])) return false;
        return true;
      };
      const itemsText = compiled.map((c) => c.text).join(all ? ' and ' : ' or ');
      return {
        text: `${who} ${op} {${itemsText}}`,
        test(root) {
          const v = get(root);
          if (!isObjectArray(v)) return false;
          for (let i = 0; i < v.length; i++) if (elementMatches(v[i])) return true;
          return false;
        },
        explain(root) {
          const v = get(root);
          if (v === ABSENT) return `${who} is absent`;
          if (Array.isArray(v) && v.length === 0) return `${who} is an empty array`;
          if (!isObjectArray(v)) return `${who} is ${jsonType(v)} ${show(v)}, expected an array of objects`;
          return `no element of ${who} has ${itemsText}`;
        },
      };
    }
    default:
      problems.push({ field: `${path}.operator`, message: `unknown operator ${show(op)}` });
      return null;
  }
}

function compileSelector(
  sel: Selector | undefined,
  path: string,
  kind: Kind,
  problems: FieldProblem[],
): CompiledExpression[] | null {
  if (sel === undefined || sel === null) return null;
  const list = (sel as Partial<Selector>).matchExpressions;
  if (!Array.isArray(list)) {
    problems.push({ field: `${path}.matchExpressions`, message: 'must be an array' });
    return null;
  }
  const out: CompiledExpression[] = [];
  list.forEach((e, i) => {
    const c = compileExpression(e, `${path}.matchExpressions[${i}]`, kind, problems);
    if (c) out.push(c);
  });
  return out;
}

/** Peripheral types named by `/peripherals` item selectors (type In [...]) anywhere in the rules. */
function wantedFromRules(constraints: DeviceConstraints): number {
  let mask = 0;
  for (const rule of constraints.eligibilityRules ?? []) {
    for (const e of rule.propertySelector?.matchExpressions ?? []) {
      if (e.key !== '/peripherals' || (e.operator !== 'ContainsAll' && e.operator !== 'ContainsAny'))
        continue;
      for (const it of e.itemSelector?.matchExpressions ?? []) {
        if (it.key === '/type' && it.operator === 'In')
          for (const v of it.values ?? []) mask |= bitOf(PERIPHERAL_TYPES, v as PeripheralType);
      }
    }
  }
  return mask;
}

/**
 * Compiles the constraints of a profile. Throws `placement/invalid-constraints` (422) listing every
 * problem; `fieldPrefix` names where the constraints came from in messages.
 */
export function compileConstraints(
  constraints: DeviceConstraints | undefined,
  fieldPrefix = 'deviceConstraints',
): CompiledConstraints {
  const problems: FieldProblem[] = [];
  const dc: DeviceConstraints = constraints ?? {};
  const cap = dc.capacityRequirements ?? {};

  let cpuCores = 0;
  let archMask = 0;
  const architectures: CpuArchitecture[] = [];
  const hasCpu = cap.cpu !== undefined && cap.cpu !== null;
  if (hasCpu) {
    const cores = (cap.cpu as { cores?: unknown }).cores;
    if (typeof cores !== 'number' || !Number.isFinite(cores) || cores < 0)
      problems.push({
        field: `${fieldPrefix}.capacityRequirements.cpu.cores`,
        message: 'must be a number >= 0',
      });
    else cpuCores = cores;
    const archs = (cap.cpu as { architectures?: unknown }).architectures;
    if (archs !== undefined) {
      if (!Array.isArray(archs))
        problems.push({
          field: `${fieldPrefix}.capacityRequirements.cpu.architectures`,
          message: 'must be an array',
        });
      else
        for (const a of archs) {
          const bit = bitOf(ARCHITECTURES, a as CpuArchitecture);
          if (!bit)
            problems.push({
              field: `${fieldPrefix}.capacityRequirements.cpu.architectures`,
              message: `unknown architecture ${show(a)} (one of ${ARCHITECTURES.join(', ')})`,
            });
          else if (!(archMask & bit)) {
            archMask |= bit;
            architectures.push(a as CpuArchitecture);
          }
        }
    }
  }
  const quantity = (name: 'memory' | 'storage'): number => {
    const raw = cap[name];
    if (raw === undefined || raw === null || raw === '') return Number.NaN;
    const q = parseByteQuantity(raw);
    if (q === null) {
      problems.push({
        field: `${fieldPrefix}.capacityRequirements.${name}`,
        message: `${show(raw)} is not a quantity such as 1024Mi or 10Gi`,
      });
      return Number.NaN;
    }
    return q;
  };
  const memoryBytes = quantity('memory');
  const storageBytes = quantity('storage');

  let peripheralMask = 0;
  const peripherals: CompiledConstraints['peripherals'][number][] = [];
  (dc.requiredPeripherals ?? []).forEach((p, i) => {
    const bit = bitOf(PERIPHERAL_TYPES, p?.type);
    if (!bit) {
      problems.push({
        field: `${fieldPrefix}.requiredPeripherals[${i}].type`,
        message: `unknown peripheral type ${show(p?.type)}`,
      });
      return;
    }
    peripheralMask |= bit;
    peripherals.push({
      type: p.type,
      bit,
      ...(p.manufacturer !== undefined ? { manufacturer: p.manufacturer } : {}),
      ...(p.model !== undefined ? { model: p.model } : {}),
    });
  });
  let interfaceMask = 0;
  const interfaces: InterfaceType[] = [];
  (dc.requiredInterfaces ?? []).forEach((it, i) => {
    const bit = bitOf(INTERFACE_TYPES, it?.type);
    if (!bit) {
      problems.push({
        field: `${fieldPrefix}.requiredInterfaces[${i}].type`,
        message: `unknown interface type ${show(it?.type)}`,
      });
      return;
    }
    if (!(interfaceMask & bit)) interfaces.push(it.type);
    interfaceMask |= bit;
  });

  let rules: CompiledRule[] | null = null;
  if (dc.eligibilityRules !== undefined && dc.eligibilityRules !== null) {
    if (!Array.isArray(dc.eligibilityRules)) {
      problems.push({ field: `${fieldPrefix}.eligibilityRules`, message: 'must be an array' });
    } else if (dc.eligibilityRules.length > 0) {
      rules = [];
      dc.eligibilityRules.forEach((rule, i) => {
        const path = `${fieldPrefix}.eligibilityRules[${i}]`;
        if (!rule || typeof rule !== 'object' || (!rule.propertySelector && !rule.labelSelector)) {
          problems.push({ field: path, message: 'a rule needs a propertySelector, a labelSelector or both' });
          return;
        }
        const property = compileSelector(
          rule.propertySelector,
          `${path}.propertySelector`,
          'property',
          problems,
        );
        const label = compileSelector(rule.labelSelector, `${path}.labelSelector`, 'label', problems);
        rules!.push({ number: i + 1, property, label });
      });
    }
  }

  if (problems.length > 0) {
    throw new OutpostError(
      'placement/invalid-constraints',
      `${problems[0]!.field}: ${problems[0]!.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
      { status: 422, errors: problems },
    );
  }
  return {
    capacity: { cpuCores, archMask, architectures, memoryBytes, storageBytes, hasCpu },
    peripherals,
    peripheralMask,
    interfaceMask,
    interfaces,
    rules,
    wantedPeripheralMask: peripheralMask | wantedFromRules(dc),
  };
}

function allMatch(exprs: readonly CompiledExpression[], root: unknown): boolean {
  for (let i = 0; i < exprs.length; i++) if (!exprs[i]!.test(root)) return false;
  return true;
}

/** A rule matches when each selector it has matches (both when it has both). */
export function ruleMatches(rule: CompiledRule, properties: unknown, labels: unknown): boolean {
  if (rule.property !== null && !allMatch(rule.property, properties)) return false;
  if (rule.label !== null && !allMatch(rule.label, labels)) return false;
  return true;
}

/** Rules are ORed; null rules = no constraint. */
export function rulesMatch(
  rules: readonly CompiledRule[] | null,
  properties: unknown,
  labels: unknown,
): boolean {
  if (rules === null) return true;
  for (let i = 0; i < rules.length; i++) if (ruleMatches(rules[i]!, properties, labels)) return true;
  return false;
}

/** Why no rule matched: the first failing expression of each rule (at most `limit` rules). */
export function explainRules(
  rules: readonly CompiledRule[],
  properties: unknown,
  labels: unknown,
  limit = 3,
): string {
  const parts: string[] = [];
  for (const rule of rules.slice(0, limit)) {
    const why: string[] = [];
    for (const [exprs, root] of [
      [rule.property, properties],
      [rule.label, labels],
    ] as const) {
      if (exprs === null) continue;
      const failing = exprs.find((e) => !e.test(root));
      if (failing) why.push(`${failing.text}: ${failing.explain(root)}`);
    }
    parts.push(`rule ${rule.number}: ${why.join('; ') || 'no match'}`);
  }
  if (rules.length > limit) parts.push(`and ${rules.length - limit} more rule(s)`);
  return `no eligibility rule matches (${parts.join(' | ')})`;
}

/** What a placement of this profile reserves on each node it lands on. */
export function reservationFor(profile: DeploymentProfile): {
  cpuCores: number;
  memoryBytes: number;
  storageBytes: number;
} {
  const c = compileConstraints(profile.deviceConstraints).capacity;
  return reservationOf(c);
}

export function reservationOf(c: CompiledCapacity): {
  cpuCores: number;
  memoryBytes: number;
  storageBytes: number;
} {
  return {
    cpuCores: c.cpuCores,
    memoryBytes: Number.isNaN(c.memoryBytes) ? 0 : c.memoryBytes,
    storageBytes: Number.isNaN(c.storageBytes) ? 0 : c.storageBytes,
  };
}
