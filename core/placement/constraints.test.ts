import { describe, expect, it } from 'vitest';
import { OutpostError } from '../../lib/errors/index.js';
import type { DeviceConstraints, EligibilityRule, MatchExpression } from '../../lib/model/index.js';
import { compileConstraints, explainRules, reservationFor, rulesMatch } from './constraints.js';

const properties = {
  id: 'northstarida.xtapro.k8s.edge',
  vendor: 'EdgeCircuit Systems',
  modelNumber: '332ANZE1-N1',
  cpus: [
    { cores: 24, architecture: 'amd64' },
    { cores: 4, architecture: 'arm64' },
  ],
  memory: '59 Gi',
  otelCollector: true,
  peripherals: [
    { type: 'gpu', manufacturer: 'NVIDIA', model: 'T4' },
    { type: 'camera', manufacturer: 'Basler' },
  ],
  interfaces: [{ type: 'ethernet' }, { type: 'wifi' }],
  supportedRuntimes: ['oci'],
  supportedDeploymentTypes: ['helm', 'compose'],
  emptyList: [],
  nothing: null,
  nested: { 'a/b': 'slash', 'm~n': 'tilde', deeper: { level: 3 } },
  mixedList: [1, 'one'],
  numbers: [1, 2, 3],
};

const labels = {
  'example.com/hyper-v.host': true,
  'example.com/os': 'Zephyr RTOS',
  'example.com/wasm.version': ['MVP', 'MVP+'],
  'example.com/slots': [1, 2],
  'example.com/rack': 7,
  'example.com/flag-as-text': 'true',
};

function rules(...r: EligibilityRule[]): DeviceConstraints {
  return { eligibilityRules: r };
}

function prop(...matchExpressions: MatchExpression[]): EligibilityRule {
  return { propertySelector: { matchExpressions } };
}

function label(...matchExpressions: MatchExpression[]): EligibilityRule {
  return { labelSelector: { matchExpressions } };
}

function matches(dc: DeviceConstraints, p: unknown = properties, l: unknown = labels): boolean {
  return rulesMatch(compileConstraints(dc).rules, p, l);
}

function errorOf(fn: () => unknown): OutpostError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OutpostError) return err;
    throw err;
  }
  throw new Error('expected an OutpostError');
}

type Case = [string, MatchExpression, boolean];

const gpuNvidia: MatchExpression['itemSelector'] = {
  matchExpressions: [
    { key: '/type', operator: 'In', values: ['gpu'] },
    { key: '/manufacturer', operator: 'In', values: ['NVIDIA'] },
  ],
};

describe('property selector operators', () => {
  const cases: Case[] = [
    // In
    [
      'In: exact string',
      { key: '/vendor', operator: 'In', values: ['NanoEdge Devices', 'EdgeCircuit Systems'] },
      true,
    ],
    ['In: case-sensitive', { key: '/vendor', operator: 'In', values: ['edgecircuit systems'] }, false],
    ['In: no prefix or substring match', { key: '/vendor', operator: 'In', values: ['EdgeCircuit'] }, false],
    ['In: number', { key: '/cpus/0/cores', operator: 'In', values: [24] }, true],
    [
      'In: number vs string values (type mismatch)',
      { key: '/cpus/0/cores', operator: 'In', values: ['24'] },
      false,
    ],
    ['In: string vs number values (type mismatch)', { key: '/memory', operator: 'In', values: [59] }, false],
    ['In: boolean', { key: '/otelCollector', operator: 'In', values: [true] }, true],
    ['In: boolean false', { key: '/otelCollector', operator: 'In', values: [false] }, false],
    [
      'In: array of strings contains one',
      { key: '/supportedDeploymentTypes', operator: 'In', values: ['compose'] },
      true,
    ],
    [
      'In: array of strings contains none',
      { key: '/supportedDeploymentTypes', operator: 'In', values: ['custom'] },
      false,
    ],
    ['In: array of numbers', { key: '/numbers', operator: 'In', values: [3, 9] }, true],
    ['In: array of numbers vs string values', { key: '/numbers', operator: 'In', values: ['3'] }, false],
    ['In: array of mixed types is the wrong type', { key: '/mixedList', operator: 'In', values: [1] }, false],
    ['In: empty array', { key: '/emptyList', operator: 'In', values: ['x'] }, false],
    [
      'In: array of objects needs ContainsAll/Any',
      { key: '/peripherals', operator: 'In', values: ['gpu'] },
      false,
    ],
    ['In: object', { key: '/nested', operator: 'In', values: ['slash'] }, false],
    ['In: null', { key: '/nothing', operator: 'In', values: ['null'] }, false],
    ['In: missing key', { key: '/location', operator: 'In', values: ['x'] }, false],
    ['In: pointer escape ~1', { key: '/nested/a~1b', operator: 'In', values: ['slash'] }, true],
    ['In: pointer escape ~0', { key: '/nested/m~0n', operator: 'In', values: ['tilde'] }, true],
    ['In: array index', { key: '/cpus/1/architecture', operator: 'In', values: ['arm64'] }, true],
    ['In: index past the end', { key: '/cpus/2/architecture', operator: 'In', values: ['arm64'] }, false],
    // NotIn
    ['NotIn: present, not listed', { key: '/vendor', operator: 'NotIn', values: ['NanoEdge Devices'] }, true],
    ['NotIn: present, listed', { key: '/vendor', operator: 'NotIn', values: ['EdgeCircuit Systems'] }, false],
    [
      'NotIn: case differs, so not listed',
      { key: '/vendor', operator: 'NotIn', values: ['EDGECIRCUIT SYSTEMS'] },
      true,
    ],
    ['NotIn: missing key is false', { key: '/location', operator: 'NotIn', values: ['x'] }, false],
    ['NotIn: wrong type is false', { key: '/cpus/0/cores', operator: 'NotIn', values: ['24'] }, false],
    ['NotIn: null is false', { key: '/nothing', operator: 'NotIn', values: ['x'] }, false],
    [
      'NotIn: array, none listed',
      { key: '/supportedDeploymentTypes', operator: 'NotIn', values: ['custom'] },
      true,
    ],
    [
      'NotIn: array, one listed',
      { key: '/supportedDeploymentTypes', operator: 'NotIn', values: ['helm'] },
      false,
    ],
    ['NotIn: empty array has no listed value', { key: '/emptyList', operator: 'NotIn', values: ['x'] }, true],
    [
      'NotIn: array of objects is the wrong type',
      { key: '/peripherals', operator: 'NotIn', values: ['gpu'] },
      false,
    ],
    // Exists / DoesNotExist
    ['Exists: present', { key: '/vendor', operator: 'Exists' }, true],
    ['Exists: present null', { key: '/nothing', operator: 'Exists' }, true],
    ['Exists: empty array', { key: '/emptyList', operator: 'Exists' }, true],
    ['Exists: nested', { key: '/nested/deeper/level', operator: 'Exists' }, true],
    ['Exists: missing', { key: '/location', operator: 'Exists' }, false],
    ['Exists: through a string', { key: '/vendor/name', operator: 'Exists' }, false],
    ['Exists: prototype member', { key: '/constructor', operator: 'Exists' }, false],
    ['DoesNotExist: missing', { key: '/location', operator: 'DoesNotExist' }, true],
    ['DoesNotExist: present', { key: '/vendor', operator: 'DoesNotExist' }, false],
    ['DoesNotExist: present null', { key: '/nothing', operator: 'DoesNotExist' }, false],
    // Gt / Lt
    ['Gt: greater', { key: '/cpus/0/cores', operator: 'Gt', values: [8] }, true],
    ['Gt: equal is not greater', { key: '/cpus/0/cores', operator: 'Gt', values: [24] }, false],
    ['Gt: fraction', { key: '/cpus/1/cores', operator: 'Gt', values: [3.5] }, true],
    ['Gt: numeric string bound', { key: '/cpus/0/cores', operator: 'Gt', values: ['8'] as never }, true],
    ['Gt: string value is false', { key: '/memory', operator: 'Gt', values: [1] }, false],
    ['Gt: boolean value is false', { key: '/otelCollector', operator: 'Gt', values: [0] }, false],
    ['Gt: array value is false', { key: '/numbers', operator: 'Gt', values: [0] }, false],
    ['Gt: missing is false', { key: '/location', operator: 'Gt', values: [0] }, false],
    ['Lt: less', { key: '/cpus/1/cores', operator: 'Lt', values: [8] }, true],
    ['Lt: equal is not less', { key: '/cpus/1/cores', operator: 'Lt', values: [4] }, false],
    ['Lt: string value is false', { key: '/vendor', operator: 'Lt', values: [100] }, false],
    ['Lt: null is false', { key: '/nothing', operator: 'Lt', values: [100] }, false],
    // ContainsAll / ContainsAny
    [
      'ContainsAll: one element has all',
      { key: '/peripherals', operator: 'ContainsAll', itemSelector: gpuNvidia },
      true,
    ],
    [
      'ContainsAll: conditions met by different elements only',
      {
        key: '/peripherals',
        operator: 'ContainsAll',
        itemSelector: {
          matchExpressions: [
            { key: '/type', operator: 'In', values: ['camera'] },
            { key: '/manufacturer', operator: 'In', values: ['NVIDIA'] },
          ],
        },
      },
      false,
    ],
    [
      'ContainsAll: nested operators on items',
      {
        key: '/peripherals',
        operator: 'ContainsAll',
        itemSelector: {
          matchExpressions: [
            { key: '/type', operator: 'In', values: ['camera'] },
            { key: '/model', operator: 'DoesNotExist' },
          ],
        },
      },
      true,
    ],
    [
      'ContainsAll: item keys are relative pointers',
      {
        key: '/cpus',
        operator: 'ContainsAll',
        itemSelector: {
          matchExpressions: [
            { key: '/architecture', operator: 'In', values: ['arm64'] },
            { key: '/cores', operator: 'Gt', values: [2] },
          ],
        },
      },
      true,
    ],
    [
      'ContainsAll: empty array',
      { key: '/emptyList', operator: 'ContainsAll', itemSelector: gpuNvidia },
      false,
    ],
    [
      'ContainsAll: array of primitives',
      { key: '/supportedRuntimes', operator: 'ContainsAll', itemSelector: gpuNvidia },
      false,
    ],
    [
      'ContainsAll: object, not array',
      { key: '/nested', operator: 'ContainsAll', itemSelector: gpuNvidia },
      false,
    ],
    ['ContainsAll: missing', { key: '/sensors', operator: 'ContainsAll', itemSelector: gpuNvidia }, false],
    [
      'ContainsAny: one condition on one element',
      {
        key: '/peripherals',
        operator: 'ContainsAny',
        itemSelector: {
          matchExpressions: [
            { key: '/type', operator: 'In', values: ['display'] },
            { key: '/manufacturer', operator: 'In', values: ['Basler'] },
          ],
        },
      },
      true,
    ],
    [
      'ContainsAny: no element meets any',
      {
        key: '/peripherals',
        operator: 'ContainsAny',
        itemSelector: {
          matchExpressions: [
            { key: '/type', operator: 'In', values: ['display'] },
            { key: '/manufacturer', operator: 'In', values: ['nvidia'] },
          ],
        },
      },
      false,
    ],
    [
      'ContainsAny: empty array',
      { key: '/emptyList', operator: 'ContainsAny', itemSelector: gpuNvidia },
      false,
    ],
  ];

  it.each(cases)('%s', (_name, expr, expected) => {
    expect(matches(rules(prop(expr)))).toBe(expected);
  });
});

describe('label selector operators', () => {
  const cases: Case[] = [
    [
      'In: key with slash and dot is an exact name',
      { key: 'example.com/os', operator: 'In', values: ['Zephyr RTOS'] },
      true,
    ],
    ['In: case-sensitive', { key: 'example.com/os', operator: 'In', values: ['zephyr rtos'] }, false],
    ['In: boolean label', { key: 'example.com/hyper-v.host', operator: 'In', values: [true] }, true],
    [
      'In: boolean label vs string value',
      { key: 'example.com/hyper-v.host', operator: 'In', values: ['true'] },
      false,
    ],
    [
      'In: string "true" vs boolean value',
      { key: 'example.com/flag-as-text', operator: 'In', values: [true] },
      false,
    ],
    [
      'In: array label, one element',
      { key: 'example.com/wasm.version', operator: 'In', values: ['MVP+'] },
      true,
    ],
    ['In: array label, none', { key: 'example.com/wasm.version', operator: 'In', values: ['2.0'] }, false],
    ['In: number array label', { key: 'example.com/slots', operator: 'In', values: [2] }, true],
    ['In: missing label', { key: 'example.com/zone', operator: 'In', values: ['a'] }, false],
    [
      'In: a pointer is not a label name',
      { key: '/example.com~1os', operator: 'In', values: ['Zephyr RTOS'] },
      false,
    ],
    [
      'NotIn: array label, none listed',
      { key: 'example.com/wasm.version', operator: 'NotIn', values: ['2.0'] },
      true,
    ],
    [
      'NotIn: array label, one listed',
      { key: 'example.com/wasm.version', operator: 'NotIn', values: ['MVP'] },
      false,
    ],
    ['NotIn: missing label', { key: 'example.com/zone', operator: 'NotIn', values: ['a'] }, false],
    ['Exists', { key: 'example.com/rack', operator: 'Exists' }, true],
    ['DoesNotExist', { key: 'example.com/zone', operator: 'DoesNotExist' }, true],
    ['Gt: number label', { key: 'example.com/rack', operator: 'Gt', values: [6] }, true],
    ['Lt: number label', { key: 'example.com/rack', operator: 'Lt', values: [6] }, false],
    ['Gt: string label is false', { key: 'example.com/os', operator: 'Gt', values: [0] }, false],
    [
      'ContainsAll on a label is false (labels hold no objects)',
      { key: 'example.com/wasm.version', operator: 'ContainsAll', itemSelector: gpuNvidia },
      false,
    ],
  ];

  it.each(cases)('%s', (_name, expr, expected) => {
    expect(matches(rules(label(expr)))).toBe(expected);
  });
});

describe('combining expressions and rules', () => {
  const vendorOk: MatchExpression = { key: '/vendor', operator: 'In', values: ['EdgeCircuit Systems'] };
  const vendorNo: MatchExpression = { key: '/vendor', operator: 'In', values: ['NanoEdge Devices'] };
  const labelOk: MatchExpression = { key: 'example.com/hyper-v.host', operator: 'In', values: [true] };
  const labelNo: MatchExpression = { key: 'example.com/os', operator: 'In', values: ['Windows'] };

  it('ANDs the expressions of a selector', () => {
    expect(matches(rules(prop(vendorOk, { key: '/otelCollector', operator: 'In', values: [true] })))).toBe(
      true,
    );
    expect(matches(rules(prop(vendorOk, vendorNo)))).toBe(false);
    expect(matches(rules(label(labelOk, labelNo)))).toBe(false);
  });

  it('requires both selectors of a rule', () => {
    const both = (p: MatchExpression, l: MatchExpression): EligibilityRule => ({
      propertySelector: { matchExpressions: [p] },
      labelSelector: { matchExpressions: [l] },
    });
    expect(matches(rules(both(vendorOk, labelOk)))).toBe(true);
    expect(matches(rules(both(vendorOk, labelNo)))).toBe(false);
    expect(matches(rules(both(vendorNo, labelOk)))).toBe(false);
  });

  it('ORs the rules', () => {
    expect(matches(rules(prop(vendorNo), label(labelOk)))).toBe(true);
    expect(matches(rules(prop(vendorNo), label(labelNo)))).toBe(false);
    expect(matches(rules(prop(vendorNo), label(labelNo), prop(vendorOk)))).toBe(true);
  });

  it('treats absent or empty rules as no constraint', () => {
    expect(matches({})).toBe(true);
    expect(matches({ eligibilityRules: [] })).toBe(true);
    expect(compileConstraints(undefined).rules).toBeNull();
  });

  it('evaluates a label selector against a node without labels as absent', () => {
    expect(matches(rules(label({ key: 'a', operator: 'DoesNotExist' })), properties, {})).toBe(true);
    expect(matches(rules(label({ key: 'a', operator: 'Exists' })), properties, {})).toBe(false);
  });

  it('explains, per rule, the first expression that failed and the value it saw', () => {
    const c = compileConstraints(rules(prop(vendorOk, vendorNo), label(labelNo)));
    const text = explainRules(c.rules!, properties, labels);
    expect(text).toContain('rule 1: /vendor In ["NanoEdge Devices"]: /vendor is "EdgeCircuit Systems"');
    expect(text).toContain(
      'rule 2: label "example.com/os" In ["Windows"]: label "example.com/os" is "Zephyr RTOS"',
    );
  });

  it('explains a type mismatch and a missing key', () => {
    const c = compileConstraints(
      rules(
        prop({ key: '/cpus/0/cores', operator: 'In', values: ['24'] }),
        prop({ key: '/x', operator: 'Exists' }),
      ),
    );
    const text = explainRules(c.rules!, properties, labels);
    expect(text).toContain('/cpus/0/cores is number 24, expected string');
    expect(text).toContain('/x is absent');
  });
});

describe('capacity and legacy requirements', () => {
  it('parses quantities and architectures once', () => {
    const c = compileConstraints({
      capacityRequirements: {
        cpu: { cores: 1.5, architectures: ['amd64', 'arm64'] },
        memory: '1024Mi',
        storage: '59 Gi',
      },
    });
    expect(c.capacity).toMatchObject({
      cpuCores: 1.5,
      archMask: 0b11,
      memoryBytes: 1024 ** 3,
      storageBytes: 59 * 1024 ** 3,
    });
  });

  it('gives the reservation of a profile', () => {
    expect(
      reservationFor({
        type: 'compose',
        id: 'p',
        components: [],
        deviceConstraints: { capacityRequirements: { cpu: { cores: 0.5 }, memory: '256Mi' } },
      }),
    ).toEqual({ cpuCores: 0.5, memoryBytes: 256 * 1024 ** 2, storageBytes: 0 });
    expect(reservationFor({ type: 'helm', id: 'p', components: [] })).toEqual({
      cpuCores: 0,
      memoryBytes: 0,
      storageBytes: 0,
    });
  });

  it('records the peripherals the app asks for, from the legacy list and from item selectors', () => {
    expect(compileConstraints({ requiredPeripherals: [{ type: 'gpu' }] }).wantedPeripheralMask).toBe(1);
    const viaRule = compileConstraints(
      rules(
        prop({
          key: '/peripherals',
          operator: 'ContainsAll',
          itemSelector: { matchExpressions: [{ key: '/type', operator: 'In', values: ['camera'] }] },
        }),
      ),
    );
    expect(viaRule.wantedPeripheralMask).toBe(4);
  });
});

describe('invalid constraints are rejected with every problem named', () => {
  const bad: [string, DeviceConstraints, string, RegExp][] = [
    [
      'In with mixed-type values',
      rules(prop({ key: '/vendor', operator: 'In', values: ['a', 1] })),
      'deviceConstraints.eligibilityRules[0].propertySelector.matchExpressions[0].values',
      /one type/,
    ],
    [
      'In without values',
      rules(prop({ key: '/vendor', operator: 'In' })),
      'matchExpressions[0].values',
      /one or more/,
    ],
    [
      'In with empty values',
      rules(prop({ key: '/vendor', operator: 'In', values: [] })),
      'values',
      /one or more/,
    ],
    [
      'In with two booleans',
      rules(label({ key: 'x', operator: 'In', values: [true, false] })),
      'values',
      /one boolean/,
    ],
    [
      'In with objects',
      rules(label({ key: 'x', operator: 'In', values: [{}] as never })),
      'values',
      /strings, numbers/,
    ],
    [
      'Gt with two numbers',
      rules(prop({ key: '/a', operator: 'Gt', values: [1, 2] })),
      'values',
      /exactly one number/,
    ],
    [
      'Gt with a word',
      rules(prop({ key: '/a', operator: 'Gt', values: ['many'] })),
      'values',
      /exactly one number/,
    ],
    ['Lt without values', rules(prop({ key: '/a', operator: 'Lt' })), 'values', /exactly one number/],
    [
      'Exists with values',
      rules(prop({ key: '/a', operator: 'Exists', values: ['x'] })),
      'values',
      /omitted/,
    ],
    [
      'ContainsAll without itemSelector',
      rules(prop({ key: '/a', operator: 'ContainsAll' })),
      'itemSelector',
      /itemSelector/,
    ],
    [
      'ContainsAny with an empty itemSelector',
      rules(prop({ key: '/a', operator: 'ContainsAny', itemSelector: { matchExpressions: [] } })),
      'itemSelector.matchExpressions',
      /one or more/,
    ],
    [
      'a bad expression inside an itemSelector',
      rules(
        prop({
          key: '/a',
          operator: 'ContainsAll',
          itemSelector: { matchExpressions: [{ key: 'type', operator: 'In', values: ['gpu'] }] },
        }),
      ),
      'itemSelector.matchExpressions[0].key',
      /must start with "\/"/,
    ],
    [
      'unknown operator',
      rules(prop({ key: '/a', operator: 'Matches' as never, values: ['x'] })),
      'operator',
      /unknown operator/,
    ],
    ['pointer without slash', rules(prop({ key: 'vendor', operator: 'Exists' })), 'key', /must start with/],
    ['pointer with a bad escape', rules(prop({ key: '/a~2', operator: 'Exists' })), 'key', /invalid escape/],
    ['a rule with no selector', rules({}), 'eligibilityRules[0]', /propertySelector, a labelSelector/],
    [
      'a bad memory quantity',
      { capacityRequirements: { memory: 'lots' } },
      'capacityRequirements.memory',
      /not a quantity/,
    ],
    [
      'an unknown architecture',
      { capacityRequirements: { cpu: { cores: 1, architectures: ['x86' as never] } } },
      'architectures',
      /unknown architecture/,
    ],
    ['negative cores', { capacityRequirements: { cpu: { cores: -1 } } }, 'cpu.cores', />= 0/],
  ];

  it.each(bad)('%s', (_name, dc, field, message) => {
    const e = errorOf(() => compileConstraints(dc));
    expect(e.code).toBe('placement/invalid-constraints');
    expect(e.status).toBe(422);
    expect(e.errors?.[0]?.field).toContain(field);
    expect(e.errors?.[0]?.message).toMatch(message);
    expect(e.message).toContain(e.errors![0]!.field);
  });

  it('lists every problem, not just the first', () => {
    const e = errorOf(() =>
      compileConstraints({
        capacityRequirements: { memory: '1 lot' },
        eligibilityRules: [
          { propertySelector: { matchExpressions: [{ key: '/a', operator: 'In', values: [1, 'b'] }] } },
          { labelSelector: { matchExpressions: [{ key: 'x', operator: 'Gt', values: ['y'] }] } },
        ],
      }),
    );
    expect(e.errors?.map((p) => p.field)).toEqual([
      'deviceConstraints.capacityRequirements.memory',
      'deviceConstraints.eligibilityRules[0].propertySelector.matchExpressions[0].values',
      'deviceConstraints.eligibilityRules[1].labelSelector.matchExpressions[0].values',
    ]);
    expect(e.message).toContain('(and 2 more)');
  });
});
