import {
  CPU_ARCHITECTURES,
  INTERFACE_TYPES,
  MATCH_OPERATORS,
  MEMORY_QUANTITY,
  PERIPHERAL_TYPES,
  STORAGE_QUANTITY,
  describe,
  isObject,
  type Obj,
  type Reader,
  type Path,
  type CapacityRequirements,
  type CpuArchitecture,
  type DeviceConstraints,
  type EligibilityRule,
  type InterfaceType,
  type MatchExpression,
  type MatchOperator,
  type PeripheralType,
  type Selector,
} from '../model/index.js';

/**
 * Reads a deployment profile's `deviceConstraints` (rc.3) or the older `requiredResources` into the
 * normalised DeviceConstraints of types.ts, checking every rule of README section 1.1.
 */

const MAX_SELECTOR_DEPTH = 4;
const JSON_POINTER = /^(\/([^~]|~[01])*)*$/;

/** `deviceConstraints`; `requiredPeripherals`/`requiredInterfaces` are our own members (ADR 0101). */
export function readDeviceConstraints(r: Reader, path: Path, v: unknown): DeviceConstraints | undefined {
  const obj = r.object(path, v);
  if (!obj) return undefined;
  r.keys(
    path,
    obj,
    ['capacityRequirements', 'eligibilityRules', 'requiredPeripherals', 'requiredInterfaces'],
    {
      what: 'deviceConstraints',
    },
  );
  const out: DeviceConstraints = {};
  if (obj.capacityRequirements !== undefined && obj.capacityRequirements !== null) {
    const cap = r.object([...path, 'capacityRequirements'], obj.capacityRequirements);
    if (cap) {
      r.keys([...path, 'capacityRequirements'], cap, ['cpu', 'memory', 'storage'], {
        what: 'capacityRequirements',
      });
      const c = readCapacity(r, [...path, 'capacityRequirements'], cap);
      if (c) out.capacityRequirements = c;
    }
  }
  const rules = r.list(path, obj, 'eligibilityRules');
  if (rules) {
    out.eligibilityRules = [];
    rules.forEach((rule, i) => {
      const rr = readRule(r, [...path, 'eligibilityRules', i], rule);
      if (rr) out.eligibilityRules!.push(rr);
    });
  }
  const peripherals = readPeripherals(r, path, obj, 'requiredPeripherals');
  if (peripherals) out.requiredPeripherals = peripherals;
  const interfaces = readInterfaces(r, path, obj, 'requiredInterfaces');
  if (interfaces) out.requiredInterfaces = interfaces;
  return out;
}

/** The older `requiredResources{cpu, memory, storage, peripherals, interfaces}`, converted. */
export function readRequiredResources(r: Reader, path: Path, v: unknown): DeviceConstraints | undefined {
  const obj = r.object(path, v);
  if (!obj) return undefined;
  r.keys(path, obj, ['cpu', 'memory', 'storage', 'peripherals', 'interfaces'], { what: 'requiredResources' });
  const out: DeviceConstraints = {};
  const c = readCapacity(r, path, obj);
  if (c) out.capacityRequirements = c;
  const peripherals = readPeripherals(r, path, obj, 'peripherals');
  if (peripherals) out.requiredPeripherals = peripherals;
  const interfaces = readInterfaces(r, path, obj, 'interfaces');
  if (interfaces) out.requiredInterfaces = interfaces;
  return out;
}

function readCapacity(r: Reader, path: Path, obj: Obj): CapacityRequirements | undefined {
  const out: CapacityRequirements = {};
  if (obj.cpu !== undefined && obj.cpu !== null) {
    const cpu = r.object([...path, 'cpu'], obj.cpu);
    if (cpu) {
      r.keys([...path, 'cpu'], cpu, ['cores', 'architectures'], { what: 'cpu' });
      const cores = r.number([...path, 'cpu'], cpu, 'cores', { required: true, positive: true });
      const archs = r.list([...path, 'cpu'], cpu, 'architectures');
      const architectures: CpuArchitecture[] = [];
      archs?.forEach((a, i) => {
        const p = [...path, 'cpu', 'architectures', i];
        if (a === 'x86_64') {
          r.problems.warn(p, '"x86_64" is the older name of amd64; read as amd64');
          architectures.push('amd64');
        } else if (typeof a === 'string' && (CPU_ARCHITECTURES as readonly string[]).includes(a)) {
          architectures.push(a as CpuArchitecture);
        } else {
          r.problems.error(p, `${JSON.stringify(a)} must be one of ${CPU_ARCHITECTURES.join(', ')}`);
        }
      });
      if (cores !== undefined) out.cpu = archs ? { cores, architectures } : { cores };
    }
  }
  const memory = r.string(path, obj, 'memory', {
    pattern: MEMORY_QUANTITY,
    hint: 'a whole number with Ki, Mi or Gi, e.g. 1024Mi',
  });
  if (memory !== undefined) out.memory = memory;
  const storage = r.string(path, obj, 'storage', {
    pattern: STORAGE_QUANTITY,
    hint: 'a whole number with Ki, Mi, Gi, Ti, Pi or Ei, e.g. 10Gi',
  });
  if (storage !== undefined) out.storage = storage;
  return Object.keys(out).length > 0 ? out : undefined;
}

function readPeripherals(
  r: Reader,
  path: Path,
  obj: Obj,
  key: string,
): DeviceConstraints['requiredPeripherals'] {
  const list = r.list(path, obj, key);
  if (!list) return undefined;
  const out: NonNullable<DeviceConstraints['requiredPeripherals']> = [];
  list.forEach((item, i) => {
    const p = [...path, key, i];
    const o = r.object(p, item);
    if (!o) return;
    r.keys(p, o, ['type', 'manufacturer', 'model'], { what: 'a peripheral' });
    const type = r.oneOf(p, o, 'type', PERIPHERAL_TYPES, true);
    const manufacturer = r.string(p, o, 'manufacturer');
    const model = r.string(p, o, 'model');
    if (type) {
      out.push({
        type: type as PeripheralType,
        ...(manufacturer !== undefined ? { manufacturer } : {}),
        ...(model !== undefined ? { model } : {}),
      });
    }
  });
  return out;
}

function readInterfaces(
  r: Reader,
  path: Path,
  obj: Obj,
  key: string,
): DeviceConstraints['requiredInterfaces'] {
  const list = r.list(path, obj, key);
  if (!list) return undefined;
  const out: NonNullable<DeviceConstraints['requiredInterfaces']> = [];
  list.forEach((item, i) => {
    const p = [...path, key, i];
    const o = r.object(p, item);
    if (!o) return;
    r.keys(p, o, ['type'], { what: 'an interface' });
    const type = r.oneOf(p, o, 'type', INTERFACE_TYPES, true);
    if (type) out.push({ type: type as InterfaceType });
  });
  return out;
}

function readRule(r: Reader, path: Path, v: unknown): EligibilityRule | undefined {
  const obj = r.object(path, v);
  if (!obj) return undefined;
  r.keys(path, obj, ['propertySelector', 'labelSelector'], { what: 'an eligibility rule' });
  const hasProp = obj.propertySelector !== undefined && obj.propertySelector !== null;
  const hasLabel = obj.labelSelector !== undefined && obj.labelSelector !== null;
  if (!hasProp && !hasLabel) {
    r.problems.error(path, 'an eligibility rule needs a propertySelector, a labelSelector, or both');
    return undefined;
  }
  const out: EligibilityRule = {};
  if (hasProp) {
    const s = readSelector(r, [...path, 'propertySelector'], obj.propertySelector, 'property', 0);
    if (s) out.propertySelector = s;
  }
  if (hasLabel) {
    const s = readSelector(r, [...path, 'labelSelector'], obj.labelSelector, 'label', 0);
    if (s) out.labelSelector = s;
  }
  return out;
}

type SelectorKind = 'property' | 'label' | 'item';

function readSelector(
  r: Reader,
  path: Path,
  v: unknown,
  kind: SelectorKind,
  depth: number,
): Selector | undefined {
  const obj = r.object(path, v);
  if (!obj) return undefined;
  r.keys(path, obj, ['matchExpressions'], { what: 'a selector' });
  const list = r.list(path, obj, 'matchExpressions', { required: true, nonEmpty: true });
  if (!list) return undefined;
  const matchExpressions: MatchExpression[] = [];
  list.forEach((e, i) => {
    const m = readExpression(r, [...path, 'matchExpressions', i], e, kind, depth);
    if (m) matchExpressions.push(m);
  });
  return { matchExpressions };
}

function readExpression(
  r: Reader,
  path: Path,
  v: unknown,
  kind: SelectorKind,
  depth: number,
): MatchExpression | undefined {
  const obj = r.object(path, v);
  if (!obj) return undefined;
  r.keys(path, obj, ['key', 'operator', 'values', 'itemSelector'], { what: 'a match expression' });
  const key = r.string(path, obj, 'key', { required: true });
  if (key !== undefined && kind !== 'label' && !JSON_POINTER.test(key)) {
    r.problems.error(
      [...path, 'key'],
      `${JSON.stringify(key)} must be an RFC 6901 JSON pointer (e.g. /vendor) in a ${kind === 'item' ? 'itemSelector' : 'propertySelector'}`,
    );
  }
  const operator = r.oneOf(path, obj, 'operator', MATCH_OPERATORS, true) as MatchOperator | undefined;
  const values = obj.values;
  const hasValues = values !== undefined && values !== null;
  const hasItem = obj.itemSelector !== undefined && obj.itemSelector !== null;
  if (hasValues && !Array.isArray(values)) {
    r.problems.error([...path, 'values'], `must be a list, not ${describe(values)}`);
  }
  if (!operator || key === undefined) return undefined;
  const vp = [...path, 'values'];
  const list = Array.isArray(values) ? (values as unknown[]) : undefined;
  const out: MatchExpression = { key, operator };
  let ok = true;
  const fail = (p: Path, message: string) => {
    r.problems.error(p, message);
    ok = false;
  };
  switch (operator) {
    case 'In':
    case 'NotIn': {
      if (!list || list.length === 0) {
        fail(vp, `${operator} needs a non-empty list of values`);
        break;
      }
      const types = new Set(list.map((x) => typeof x));
      const bad = list.findIndex((x) => !['string', 'number', 'boolean'].includes(typeof x));
      if (bad >= 0)
        fail([...vp, bad], `values must be strings, numbers or booleans, not ${describe(list[bad])}`);
      else if (types.size > 1)
        fail(vp, `${operator} values must all have one type (found ${[...types].join(' and ')})`);
      else out.values = list as (string | number | boolean)[];
      break;
    }
    case 'Gt':
    case 'Lt':
      if (!list || list.length !== 1 || typeof list[0] !== 'number') {
        fail(vp, `${operator} needs exactly one number in values`);
      } else out.values = [list[0]];
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (hasValues) fail(vp, `${operator} takes no values`);
      break;
    case 'ContainsAll':
    case 'ContainsAny':
      if (kind === 'label')
        fail(
          [...path, 'operator'],
          `${operator} applies to arrays of objects, so only in property selectors`,
        );
      if (hasValues) fail(vp, `${operator} takes no values (it uses itemSelector)`);
      if (!hasItem) fail([...path, 'itemSelector'], `${operator} needs an itemSelector`);
      else if (depth + 1 > MAX_SELECTOR_DEPTH) {
        fail([...path, 'itemSelector'], `itemSelectors nest deeper than ${MAX_SELECTOR_DEPTH} levels`);
      } else {
        const s = readSelector(r, [...path, 'itemSelector'], obj.itemSelector, 'item', depth + 1);
        if (s) out.itemSelector = s;
        else ok = false;
      }
      break;
  }
  if (hasItem && operator !== 'ContainsAll' && operator !== 'ContainsAny') {
    fail(
      [...path, 'itemSelector'],
      `itemSelector applies only to ContainsAll and ContainsAny, not ${operator}`,
    );
  }
  return ok ? out : undefined;
}

/** For tolerant readers: keeps a deviceConstraints mapping as it is. */
export function keepDeviceConstraints(v: unknown): DeviceConstraints | undefined {
  return isObject(v) ? (v as DeviceConstraints) : undefined;
}
