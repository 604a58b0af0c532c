import { describe, expect, it } from 'vitest';
import {
  checkParameterValue,
  coerceParameterInput,
  parameterDataType,
  resolveParameters,
  type SchemaRule,
} from './index.js';
import { parseApplicationDescription } from '../margo/index.js';
import { decimalPlaces } from './parameter-validation.js';
import { readTestdata, thrown } from '../margo/test-helpers.js';

const compose = parseApplicationDescription(readTestdata('valid/compose.yaml')).description;
const helm = parseApplicationDescription(readTestdata('valid/helm.yaml')).description;
const wasm = parseApplicationDescription(readTestdata('valid/wasm-custom.yaml')).description;
const example002 = parseApplicationDescription(
  readTestdata('examples/application-description-example-002-helm-and-compose.yaml'),
).description;

describe('checkParameterValue: one rule at a time', () => {
  const rule = (r: Partial<SchemaRule>): SchemaRule => ({ name: 's', dataType: 'string', ...r });
  it.each<[string, Partial<SchemaRule>, unknown, string[]]>([
    ['string ok', {}, 'abc', []],
    ['string type', {}, 3, ['must be a string']],
    ['value required by default (allowEmpty false)', {}, undefined, ['a value is required']],
    ['empty string refused by default', {}, '', ['must not be empty']],
    ['allowEmpty accepts no value', { allowEmpty: true }, undefined, []],
    ['allowEmpty accepts empty text', { allowEmpty: true, minLength: 3 }, '', []],
    ['minLength', { minLength: 3 }, 'ab', ['must have at least 3 characters (has 2)']],
    ['maxLength counts characters, not UTF-16 units', { maxLength: 2 }, '😀😀', []],
    ['maxLength', { maxLength: 2 }, 'abc', ['must have at most 2 characters (has 3)']],
    ['regexMatch (search semantics)', { regexMatch: '@[a-z]+' }, 'ada@acme', []],
    ['regexMatch refused', { regexMatch: '^[a-z]+$' }, 'Ada', ['must match ^[a-z]+$']],
    ['integer ok', { dataType: 'integer', minValue: 1, maxValue: 10 }, 10, []],
    ['integer type', { dataType: 'integer' }, 1.5, ['must be an integer']],
    ['integer not a string', { dataType: 'integer' }, '1', ['must be an integer']],
    ['minValue', { dataType: 'integer', minValue: 30 }, 29, ['must be at least 30']],
    ['maxValue', { dataType: 'double', maxValue: 1 }, 1.01, ['must be at most 1']],
    ['double accepts integers', { dataType: 'double', minValue: 0.5 }, 2, []],
    ['maxPrecision', { dataType: 'double', maxPrecision: 1 }, 1.25, ['must have at most 1 decimal place']],
    ['minPrecision', { dataType: 'double', minPrecision: 2 }, 1.5, ['must have at least 2 decimal places']],
    ['boolean', { dataType: 'boolean' }, 'true', ['must be true or false']],
    ['boolean false is a value', { dataType: 'boolean' }, false, []],
    [
      'array of integers',
      { dataType: 'array[integer]', minValue: 1024 },
      [8080, 80],
      ['item 2: must be at least 1024'],
    ],
    ['array type', { dataType: 'array[string]' }, 'a', ['must be a list of string values']],
    ['empty array refused by default', { dataType: 'array[boolean]' }, [], ['must not be empty']],
    ['empty array with allowEmpty', { dataType: 'array[boolean]', allowEmpty: true }, [], []],
    ['select ok', { options: ['a', 'b'] }, 'b', []],
    ['select refused', { options: ['a', 'b'] }, 'c', ['"c" is not one of the options "a", "b"']],
    [
      'select compares types',
      { dataType: 'integer', options: [1, 2] },
      '1',
      ['"1" is not one of the options 1, 2'],
    ],
    ['multiselect', { options: ['a', 'b'], multiselect: true }, ['a', 'b'], []],
    ['multiselect needs a list', { options: ['a'], multiselect: true }, 'a', ['must be a list of options']],
    [
      'multiselect duplicates',
      { options: ['a'], multiselect: true },
      ['a', 'a'],
      ['an option is selected more than once'],
    ],
    ['multiselect empty', { options: ['a'], multiselect: true }, [], ['select at least one option']],
  ])('%s', (_name, r, value, messages) => {
    expect(checkParameterValue(value, rule(r))).toEqual(messages);
  });

  it('counts decimal places of the shortest form', () => {
    expect([1, 1.5, 1.25, 0.1 + 0.2, 1e-7, 1.5e-7, 1e21].map(decimalPlaces)).toEqual([0, 1, 2, 17, 7, 8, 0]);
  });
});

describe('resolveParameters', () => {
  it('takes defaults and given values and narrows targets to the chosen profile', () => {
    const out = resolveParameters(helm, 'historian-compose', { tier: 'premium' });
    expect(out).toEqual({
      retentionDays: {
        value: 30,
        targets: [{ pointer: 'RETENTION_DAYS', components: ['historian-stack'] }],
        source: 'default',
        immutable: false,
      },
      tier: {
        value: 'premium',
        targets: [{ pointer: 'TIER', components: ['historian-stack'] }],
        source: 'given',
        immutable: false,
      },
    });
    // storageClass and cpuLimit only reach the helm profile's components.
    const onHelm = resolveParameters(helm, 'historian-helm', {});
    expect(Object.keys(onHelm)).toEqual(['retentionDays', 'storageClass', 'tier', 'cpuLimit']);
    expect(onHelm.storageClass).toMatchObject({ immutable: true, source: 'default' });
  });

  it('narrows a target listing components of several profiles', () => {
    const out = resolveParameters(example002, 'com-northstartida-digitron-orchestrator-helm-a', {
      idpName: 'Azure AD',
      idpProvider: 'aad',
      idpClientId: '123-ABC',
      idpUrl: 'https://login.example.com',
      adminName: 'Some One',
      adminPrincipalName: 'someone@example.com',
    });
    expect(out.pollFrequency!.targets).toEqual([
      { pointer: 'settings.pollFrequency', components: ['digitron-orchestrator', 'database-services'] },
    ]);
    expect(out.idpUrl!.targets.map((t) => t.pointer)).toEqual(['idp.providerUrl', 'idp.providerMetadata']);
    expect(out.siteId).toBeUndefined(); // optional (allowEmpty) and not given
  });

  it('reports every bad value with its own field, and an unknown parameter', () => {
    const err = thrown(() =>
      resolveParameters(compose, 'monitor-compose', {
        lineName: 'Line 1',
        sampleRate: 500,
        verbose: 'yes',
        ports: [80],
        colour: 'red',
      }),
    );
    expect(err.code).toBe('invalid-input');
    expect(err.status).toBe(400);
    expect(err.errors).toEqual([
      {
        field: 'parameters.colour',
        message: expect.stringContaining('unknown parameter "colour"') as string,
      },
      { field: 'parameters.lineName', message: 'must match ^[a-z0-9-]+$' },
      { field: 'parameters.sampleRate', message: 'must be at most 100' },
      { field: 'parameters.verbose', message: 'must be true or false' },
      { field: 'parameters.ports', message: 'item 1: must be at least 1024' },
    ]);
    expect(err.message).toMatch(/^parameters of "acme-line-monitor": 5 problems: parameters\.colour: /);
  });

  it('requires a value where the schema does not allow empty and there is no default', () => {
    const err = thrown(() => resolveParameters(compose, 'monitor-compose', {}));
    expect(err.errors).toEqual([{ field: 'parameters.lineName', message: 'a value is required' }]);
    const ok = resolveParameters(compose, 'monitor-compose', { lineName: 'line-1' });
    expect(ok.siteCode).toBeUndefined();
    expect(ok.lineName!.targets).toEqual([{ pointer: 'LINE_NAME', components: ['collector', 'dashboard'] }]);
  });

  it('accepts select and multiselect values from the options', () => {
    expect(resolveParameters(wasm, 'filter-wasm', { regions: ['floor'] }).regions!.value).toEqual(['floor']);
    expect(
      thrown(() => resolveParameters(wasm, 'filter-wasm', { regions: ['roof'] })).errors![0]!.message,
    ).toContain('"roof" is not one of the options');
    expect(thrown(() => resolveParameters(helm, 'historian-helm', { tier: 'gold' })).errors![0]!.field).toBe(
      'parameters.tier',
    );
  });

  it('keeps immutable values on update', () => {
    const previous = { siteCode: 'ABC12', lineName: 'line-1' };
    expect(
      resolveParameters(compose, 'monitor-compose', { lineName: 'line-2', siteCode: 'ABC12' }, { previous })
        .siteCode!.value,
    ).toBe('ABC12');
    const err = thrown(() =>
      resolveParameters(compose, 'monitor-compose', { lineName: 'line-1', siteCode: 'XYZ99' }, { previous }),
    );
    expect(err.errors).toEqual([
      { field: 'parameters.siteCode', message: 'is immutable: it was "ABC12" and cannot change to "XYZ99"' },
    ]);
  });

  it('refuses an unknown profile and values of no parameter type', () => {
    const e1 = thrown(() => resolveParameters(compose, 'nope', {}));
    expect(e1.errors).toEqual([
      { field: 'profileId', message: expect.stringContaining('profiles: monitor-compose') as string },
    ]);
    const e2 = thrown(() => resolveParameters(compose, 'monitor-compose', { lineName: { a: 1 } }));
    expect(e2.errors![0]).toEqual({
      field: 'parameters.lineName',
      message: expect.stringContaining('must be a string, number') as string,
    });
  });
});

describe('coerceParameterInput', () => {
  it.each<[string, Parameters<typeof coerceParameterInput>[1], unknown]>([
    ['hello, world', 'string', 'hello, world'],
    ['42', 'integer', 42],
    [' -7 ', 'integer', -7],
    ['0.5', 'double', 0.5],
    ['1e3', 'double', 1000],
    ['TRUE', 'boolean', true],
    ['false', 'boolean', false],
    ['a, b ,c', 'array[string]', ['a', 'b', 'c']],
    ['["a,b", "c"]', 'array[string]', ['a,b', 'c']],
    ['80,443', 'array[integer]', [80, 443]],
    ['[80, "443"]', 'array[integer]', [80, 443]],
    ['true,false', 'array[boolean]', [true, false]],
    ['', 'array[double]', []],
    ['anything', undefined, 'anything'],
  ])('%j as %s', (raw, type, value) => {
    expect(coerceParameterInput(raw, type)).toEqual(value);
  });

  it.each<[string, Parameters<typeof coerceParameterInput>[1], string]>([
    ['4.5', 'integer', '"4.5" is not an integer (expected integer)'],
    ['9007199254740993', 'integer', 'is not an integer'],
    ['12abc', 'double', '"12abc" is not a number'],
    ['yes', 'boolean', '"yes" is not true or false'],
    ['[1,', 'array[integer]', 'is not a JSON array'],
    ['[{"a":1}]', 'array[string]', 'item 1 ({"a":1}) is not a string'],
    ['[1.5]', 'array[integer]', 'item 1 (1.5) is not an integer'],
    ['1,x', 'array[double]', '"x" is not a number'],
  ])('refuses %j as %s', (raw, type, fragment) => {
    const err = thrown(() => coerceParameterInput(raw, type, 'port'));
    expect(err.code).toBe('invalid-input');
    expect(err.errors![0]!.field).toBe('parameters.port');
    expect(err.message).toContain(fragment);
  });

  it('finds the data type to coerce to', () => {
    expect(parameterDataType(compose, 'ports')).toBe('array[integer]');
    expect(parameterDataType(wasm, 'regions')).toBe('array[string]'); // multiselect over strings
    expect(parameterDataType(example002, 'cpuLimit')).toBe('double');
    expect(parameterDataType({ ...helm, configuration: undefined }, 'cpuLimit')).toBe('double');
    expect(parameterDataType({ ...helm, configuration: undefined }, 'retentionDays')).toBe('integer');
    expect(parameterDataType(compose, 'nope')).toBeUndefined();
  });

  it('feeds resolveParameters: CLI strings become valid values', () => {
    const given = {
      lineName: coerceParameterInput('line-7', parameterDataType(compose, 'lineName')),
      ports: coerceParameterInput('8080,9090', parameterDataType(compose, 'ports')),
      verbose: coerceParameterInput('true', parameterDataType(compose, 'verbose')),
    };
    const out = resolveParameters(compose, 'monitor-compose', given);
    expect([out.ports!.value, out.verbose!.value]).toEqual([[8080, 9090], true]);
  });
});
