import { describe, expect, it } from 'vitest';
import type { OutpostError } from '../../../lib/errors/index.js';
import { coerceParameterInput, resolveParameters } from '../../../lib/contract/index.js';
import {
  buildForm,
  checkForm,
  fieldsByParameter,
  initialRaws,
  problemsByParameter,
  rawOf,
  reachesProfile,
  valueOf,
  type Description,
  type RawValue,
} from './parameters.js';

const desc = {
  id: 'camera',
  metadata: { name: 'Camera', version: '1.0.0', catalog: { organization: [{ name: 'o' }] } },
  deploymentProfiles: [
    {
      type: 'compose',
      id: 'full',
      components: [
        { name: 'app', properties: {} },
        { name: 'ui', properties: {} },
      ],
    },
    { type: 'compose', id: 'lite', components: [{ name: 'app', properties: {} }] },
  ],
  parameters: {
    greeting: { value: 'hello', targets: [{ pointer: 'GREETING', components: ['app'] }] },
    fps: { value: 15, targets: [{ pointer: 'FPS', components: ['app'] }] },
    gain: { value: 1.5, targets: [{ pointer: 'GAIN', components: ['app'] }] },
    debug: { value: false, targets: [{ pointer: 'DEBUG', components: ['app'] }] },
    color: { targets: [{ pointer: 'COLOR', components: ['app'] }] },
    mode: { value: 'fast', targets: [{ pointer: 'MODE', components: ['app'] }] },
    zones: { value: ['a'], targets: [{ pointer: 'ZONES', components: ['app'] }] },
    tags: { value: ['x', 'y'], targets: [{ pointer: 'TAGS', components: ['app'] }] },
    theme: { value: 'dark', targets: [{ pointer: 'THEME', components: ['ui'] }] },
    retries: { value: 3, targets: [{ pointer: 'RETRIES', components: ['app'] }] },
  },
  configuration: {
    sections: [
      {
        name: 'General',
        settings: [
          { parameter: 'greeting', name: 'Greeting', schema: 'text' },
          { parameter: 'fps', name: 'Frames per second', schema: 'fps', immutable: true },
          { parameter: 'gain', name: 'Gain', schema: 'gain' },
          { parameter: 'debug', name: 'Debug', schema: 'bool' },
          { parameter: 'color', name: 'Colour', schema: 'bool' },
        ],
      },
      {
        name: 'Advanced',
        settings: [
          { parameter: 'mode', name: 'Mode', schema: 'mode' },
          { parameter: 'zones', name: 'Zones', schema: 'zones' },
          { parameter: 'tags', name: 'Tags', schema: 'tags' },
          { parameter: 'theme', name: 'Theme', schema: 'text' },
        ],
      },
    ],
    schema: [
      { name: 'text', dataType: 'string', maxLength: 10 },
      { name: 'fps', dataType: 'integer', minValue: 1, maxValue: 60 },
      { name: 'gain', dataType: 'double', maxPrecision: 1 },
      { name: 'bool', dataType: 'boolean' },
      { name: 'mode', dataType: 'string', options: ['fast', 'slow'] },
      { name: 'zones', dataType: 'string', options: ['a', 'b', 'c'], multiselect: true },
      { name: 'tags', dataType: 'array[string]', maxLength: 3 },
    ],
  },
} as unknown as Description;

const sections = buildForm(desc);
const fields = fieldsByParameter(sections);
const initial = initialRaws(desc, sections);

function serverProblems(profile: string, given: Record<string, unknown>, previous?: Record<string, unknown>) {
  try {
    resolveParameters(desc, profile, given, previous ? { previous: previous as never } : {});
    return [];
  } catch (e) {
    return (e as OutpostError).errors ?? [];
  }
}

describe('buildForm', () => {
  it('chooses each input by the schema data type, in section order, plain text for the rest', () => {
    expect(sections.map((s) => [s.name, s.fields.map((f) => `${f.parameter}:${f.kind}`)])).toEqual([
      ['General', ['greeting:text', 'fps:number', 'gain:number', 'debug:switch', 'color:select']],
      ['Advanced', ['mode:select', 'zones:multiselect', 'tags:chips', 'theme:text']],
      ['Other parameters', ['retries:text']],
    ]);
    expect(fields.get('fps')?.immutable).toBe(true);
    expect(fields.get('color')?.options?.map((o) => o.value)).toEqual([true, false]);
    expect(fields.get('retries')?.dataType).toBe('integer');
  });

  it('starts from the defaults', () => {
    expect(initial).toEqual({
      greeting: 'hello',
      fps: '15',
      gain: '1.5',
      debug: false,
      color: '',
      mode: '"fast"',
      zones: ['"a"'],
      tags: ['x', 'y'],
      theme: 'dark',
      retries: '3',
    });
  });

  it('turns every default back into the same value', () => {
    for (const [p, f] of fields) {
      const v = desc.parameters[p]!.value;
      if (v !== undefined) expect(valueOf(f, rawOf(f, v))).toEqual(v);
    }
  });
});

describe('checkForm', () => {
  it('sends only what changed, typed', () => {
    const raws: Record<string, RawValue> = {
      ...initial,
      fps: '30',
      debug: true,
      color: 'false',
      tags: ['q'],
    };
    const c = checkForm(desc, 'full', sections, raws, initial);
    expect(c.given).toEqual({ fps: 30, debug: true, color: false, tags: ['q'] });
    expect(c.ok).toBe(true);
    expect(serverProblems('full', c.given)).toEqual([]);
  });

  it('reports a missing required value the way the server does', () => {
    const c = checkForm(desc, 'full', sections, initial, initial);
    expect(c.problems).toEqual({ color: ['a value is required'] });
    expect(serverProblems('full', c.given).map((p) => p.message)).toEqual(['a value is required']);
  });

  it('gives the server messages for values that break a rule', () => {
    const raws: Record<string, RawValue> = {
      ...initial,
      color: 'true',
      greeting: 'far too long a greeting',
      fps: '61',
      gain: '1.25',
      zones: [],
      tags: ['long tag'],
    };
    const c = checkForm(desc, 'full', sections, raws, initial);
    const server = serverProblems('full', c.given);
    const byParam = problemsByParameter(sections, server).byParameter;
    expect(c.problems).toEqual(byParam);
    expect(Object.keys(c.problems).sort()).toEqual(['fps', 'gain', 'greeting', 'tags', 'zones']);
  });

  it('reports text that is not a number as the CLI does', () => {
    const c = checkForm(
      desc,
      'full',
      sections,
      { ...initial, color: 'true', fps: 'abc', retries: '2.5' },
      initial,
    );
    const cli = (raw: string, dt: 'integer') => {
      try {
        coerceParameterInput(raw, dt, 'x');
        return '';
      } catch (e) {
        return (e as OutpostError).errors![0]!.message;
      }
    };
    expect(c.problems).toEqual({ fps: [cli('abc', 'integer')], retries: [cli('2.5', 'integer')] });
  });

  it('on an update, merges over the running values and keeps immutable settings', () => {
    const previous = {
      greeting: 'hi',
      fps: 15,
      gain: 1.5,
      debug: false,
      color: true,
      mode: 'fast',
      zones: ['a'],
      tags: ['x'],
      retries: 3,
    };
    const start = initialRaws(desc, sections, previous);
    expect(start.greeting).toBe('hi');
    const c = checkForm(desc, 'lite', sections, { ...start, fps: '20', greeting: 'hey' }, start, previous);
    expect(c.given).toEqual({ fps: 20, greeting: 'hey' });
    expect(c.problems.fps?.[0]).toContain('immutable');
    expect(serverProblems('lite', { ...previous, ...c.given }, previous).map((p) => p.field)).toEqual([
      'parameters.fps',
    ]);
  });

  it('does not require a parameter the profile does not use', () => {
    expect(reachesProfile(desc, 'lite', 'theme')).toBe(false);
    expect(reachesProfile(desc, 'full', 'theme')).toBe(true);
    const c = checkForm(desc, 'lite', sections, { ...initial, color: 'true', theme: '' }, initial);
    // Given, it is still checked (as the server checks it).
    expect(c.problems).toEqual({ theme: ['must not be empty'] });
  });
});
