import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  normalizeApplicationDescription,
  parseApplicationDescription,
  renderApplicationDescription,
} from './index.js';
import { parse as parseYaml } from 'yaml';
import { readTestdata, testdata, thrown } from './test-helpers.js';

const EXAMPLES = fs.readdirSync(testdata('examples')).filter((f) => f.startsWith('application-description'));
const VALID = fs.readdirSync(testdata('valid'));

const MINIMAL = `id: acme-counter
metadata:
  name: Counter
  version: 1.0.0
  catalog:
    organization:
      - name: Acme
deploymentProfiles:
  - type: compose
    id: counter-compose
    components:
      - name: counter
        properties:
          repository: oci://registry.example.com/acme/counter
          revision: 1.0.0
`;

describe('parseApplicationDescription: the Margo examples', () => {
  it('finds all four examples', () => {
    expect(EXAMPLES).toHaveLength(4);
  });

  it.each(EXAMPLES)('accepts %s and round-trips it through the renderer', (file) => {
    const bytes = readTestdata(`examples/${file}`);
    const { description, warnings } = parseApplicationDescription(bytes, { file });
    const again = parseApplicationDescription(renderApplicationDescription(description));
    expect(again.description).toEqual(description);
    // Leniencies are reported, never silent: every example predates a rule or two.
    for (const w of warnings) expect(w.severity).toBe('warning');
  });

  it('reads the top-level id form (001) with one warning for version "1.0"', () => {
    const { description, warnings } = parseApplicationDescription(
      readTestdata('examples/application-description-example-001-helm-hello-world.yaml'),
    );
    expect(description.id).toBe('com-northstartida-hello-world');
    expect(description.deploymentProfiles[0]).toMatchObject({
      type: 'helm',
      id: 'com-northstartida-hello-world-helm-a',
    });
    expect(warnings.map((w) => [w.path, w.line, w.column])).toEqual([['metadata.version', 7, 12]]);
    expect(description.configuration?.schema[0]).toEqual({
      name: 'requireText',
      dataType: 'string',
      maxLength: 45,
      allowEmpty: false,
    });
  });

  it('converts the older 002 form: metadata.id, requiredResources, compose packageLocation', () => {
    const { description, warnings } = parseApplicationDescription(
      readTestdata('examples/application-description-example-002-helm-and-compose.yaml'),
    );
    expect(description.id).toBe('com-northstartida-digitron-orchestrator');
    const [helm, compose] = description.deploymentProfiles;
    expect(helm!.deviceConstraints).toEqual({
      capacityRequirements: {
        cpu: { cores: 1.5, architectures: ['amd64'] },
        memory: '1024Mi',
        storage: '10Gi',
      },
      requiredPeripherals: [{ type: 'gpu', manufacturer: 'NVIDIA' }, { type: 'display' }],
      requiredInterfaces: [{ type: 'ethernet' }, { type: 'bluetooth' }],
    });
    expect(compose!.components[0]!.properties).toEqual({
      packageLocation: 'https://northsitarida.com/digitron/docker/digitron-orchestrator.tar.gz',
      keyLocation: 'https://northsitarida.com/digitron/docker/public-key.asc',
    });
    expect(description.parameters.pollFrequency).toEqual({
      value: 30,
      targets: [
        { pointer: 'settings.pollFrequency', components: ['digitron-orchestrator', 'database-services'] },
        { pointer: 'POLL_FREQUENCY', components: ['digitron-orchestrator-docker'] },
      ],
    });
    expect(warnings.map((w) => w.path)).toEqual([
      'metadata.id',
      'deploymentProfiles[0].requiredResources',
      'deploymentProfiles[1].components[0].properties.packageLocation',
      'deploymentProfiles[1].components[0].properties.keyLocation',
    ]);
  });

  it('accepts the SUP examples: dotted ids, "..." placeholders, custom type with eligibility rules', () => {
    const { description, warnings } = parseApplicationDescription(
      readTestdata('examples/application-description-example-custom-eligibility-sup.yaml'),
    );
    expect(description.id).toBe('com.appforge-dynamics.sys-sec-mon');
    expect(description.parameters).toEqual({});
    expect(description.configuration).toBeUndefined();
    expect(description.deploymentProfiles[0]!.deviceConstraints!.eligibilityRules).toEqual([
      {
        propertySelector: {
          matchExpressions: [
            { key: '/vendor', operator: 'In', values: ['EdgeCircuit Systems', 'NanoEdge Devices'] },
          ],
        },
        labelSelector: {
          matchExpressions: [{ key: 'example.com/hyper-v.host', operator: 'In', values: [true] }],
        },
      },
    ]);
    expect(warnings.map((w) => w.message).join('\n')).toMatch(/has dots[\s\S]*placeholder[\s\S]*placeholder/);
  });

  it('returns the exact input bytes, also for text input', () => {
    const bytes = readTestdata('examples/application-description-example-002-helm-and-compose.yaml');
    const kept = parseApplicationDescription(bytes).bytes;
    expect(Buffer.from(kept).equals(bytes)).toBe(true);
    const reused = Buffer.from(bytes);
    const fromReused = parseApplicationDescription(reused).bytes;
    reused.fill(0x20); // a pooled buffer reused by the caller must not change what was returned
    expect(Buffer.from(fromReused).equals(bytes)).toBe(true);
    const text = MINIMAL.replace('Counter', 'Zähler');
    expect(Buffer.from(parseApplicationDescription(text).bytes).toString('utf8')).toBe(text);
  });
});

describe('parseApplicationDescription: our fixtures', () => {
  it.each(VALID)('accepts %s without warnings and round-trips it', (file) => {
    const { description, warnings } = parseApplicationDescription(readTestdata(`valid/${file}`), { file });
    expect(warnings).toEqual([]);
    const text = renderApplicationDescription(description);
    expect(parseApplicationDescription(text).description).toEqual(description);
    expect(renderApplicationDescription(parseApplicationDescription(text).description)).toBe(text);
  });

  it('keeps the wasm runtime extension on the custom profile and the root extension apart', () => {
    const { description } = parseApplicationDescription(readTestdata('valid/wasm-custom.yaml'));
    const profile = description.deploymentProfiles[0]!;
    expect(profile.type).toBe('custom');
    expect(profile.extensions).toEqual({ 'x-outpost-extensions': { runtime: 'wasm', entrypoint: '_start' } });
    expect(description.extensions).toEqual({ 'x-outpost-extensions': { catalogCategory: 'vision' } });
    expect(profile.components[0]!.properties.revision).toBe('2.1.0_build.42');
  });
});

interface Expectation {
  field: string;
  message: string;
  line?: number;
  column?: number;
}

describe('parseApplicationDescription: the invalid corpus (one broken rule per file)', () => {
  const expected = JSON.parse(readTestdata('invalid/expected.json').toString('utf8')) as Record<
    string,
    Expectation
  >;
  const files = fs.readdirSync(testdata('invalid')).filter((f) => f.endsWith('.yaml'));

  it('has an expectation for every file, and at least 30 files', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    expect(Object.keys(expected).sort()).toEqual([...files].sort());
  });

  it.each(files)('%s', (file) => {
    const want = expected[file]!;
    const err = thrown(() => parseApplicationDescription(readTestdata(`invalid/${file}`), { file }));
    expect(err.code).toBe('margo/invalid-description');
    expect(err.status).toBe(422);
    expect(err.errors).toHaveLength(1);
    const problem = err.errors![0]!;
    expect(problem.field).toBe(want.field);
    expect(problem.message).toContain(want.message);
    expect(problem.file).toBe(file);
    expect(problem.line).toBeGreaterThan(0);
    if (want.line !== undefined) expect([problem.line, problem.column]).toEqual([want.line, want.column]);
    expect(err.message).toContain(`${file}: 1 problem: `);
    expect(err.message).toContain(want.message);
    expect(err.message).not.toContain('\n');
  });
});

describe('parseApplicationDescription: several problems at once', () => {
  it('lists every problem in source order in one line, with positions', () => {
    const text = MINIMAL.replace('id: acme-counter', 'id: Acme')
      .replace('type: compose', 'type: docker')
      .replace('revision: 1.0.0', 'revision: v1');
    const err = thrown(() => parseApplicationDescription(text, { file: 'margo.yaml' }));
    expect(err.errors!.map((e) => [e.field, e.line, e.column])).toEqual([
      ['id', 1, 5],
      ['deploymentProfiles[0].type', 9, 11],
      ['deploymentProfiles[0].components[0].properties.revision', 15, 21],
    ]);
    expect(err.message).toMatch(
      /^margo\.yaml: 3 problems: id: "Acme" must match .* \(line 1, column 5\); deploymentProfiles\[0\]\.type: /,
    );
  });

  it('points an unknown key at the key, a missing key at its parent', () => {
    const text = MINIMAL.replace('    organization:', '    organisation: []\n    organization:').replace(
      '  name: Counter\n',
      '',
    );
    const err = thrown(() => parseApplicationDescription(text));
    expect(err.errors!.map((e) => [e.field, e.line, e.column])).toEqual([
      ['metadata.name', 3, 3],
      ['metadata.catalog.organisation', 5, 5],
    ]);
  });
});

describe('parseApplicationDescription: YAML safety', () => {
  it('refuses 50 MB before parsing it (text and bytes)', () => {
    const big = 'x'.repeat(50 * 1024 * 1024);
    const e1 = thrown(() => parseApplicationDescription(big, { file: 'big.yaml' }));
    expect(e1.code).toBe('payload-too-large');
    expect(e1.status).toBe(413);
    expect(e1.message).toMatch(/^big\.yaml: .*exceeds the limit of 1048576 bytes$/);
    const e2 = thrown(() => parseApplicationDescription(new Uint8Array(50 * 1024 * 1024)));
    expect(e2.code).toBe('payload-too-large');
    expect(e2.message).toContain('52428800 bytes');
  });

  it('counts bytes, not characters, against maxBytes', () => {
    const text = MINIMAL.replace('Counter', 'Zähler'.repeat(20));
    const bytes = Buffer.byteLength(text);
    expect(parseApplicationDescription(text, { maxBytes: bytes }).description.metadata.name).toContain(
      'Zähler',
    );
    expect(thrown(() => parseApplicationDescription(text, { maxBytes: bytes - 1 })).code).toBe(
      'payload-too-large',
    );
  });

  it('refuses a billion-laughs alias bomb quickly', () => {
    const lines = ['a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const err = thrown(() => parseApplicationDescription(lines.join('\n')));
    expect(err.code).toBe('margo/invalid-description');
    expect(err.message).toMatch(/aliases expand to more than|more than 100 aliases/);
  });

  it('refuses too many aliases even when each is small', () => {
    const text = `${MINIMAL}x-acme-extensions:\n  base: &b 1\n  list: [${Array(101).fill('*b').join(', ')}]\n`;
    expect(thrown(() => parseApplicationDescription(text)).message).toContain('more than 100 aliases');
  });

  it('accepts a few harmless aliases', () => {
    const text = MINIMAL.replace('name: Counter', 'name: &n Counter') + 'x-acme-extensions:\n  title: *n\n';
    expect(parseApplicationDescription(text).description.extensions).toEqual({
      'x-acme-extensions': { title: 'Counter' },
    });
  });

  it.each([
    [
      'binary garbage',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]),
      'is not UTF-8 text',
    ],
    [
      'a NUL byte',
      Buffer.from('id: a\nname: b\u0000\n'),
      'control character U+0000 (binary data?) (line 2, column 8)',
    ],
    ['an empty document', '', 'must be a mapping, not empty'],
    ['a scalar root', 'hello', 'must be a mapping, not a string'],
    ['a complex key', '? [a, b]\n: c\n', 'keys must be plain strings'],
    ['deep nesting', `a: ${'['.repeat(100)}${']'.repeat(100)}`, 'nesting deeper than 64 levels'],
  ])('refuses %s with a clear message', (_name, input, fragment) => {
    const err = thrown(() => parseApplicationDescription(input));
    expect(err.code).toBe('margo/invalid-description');
    expect(err.message).toContain(fragment);
  });

  it.each([
    ['id: a\nmetadata:\n  name: x\n version: 1\n', 'All mapping items must start at the same column', 4, 1],
    ['id: a\nmetadata:\n\tname: x\n', 'Tabs are not allowed as indentation', 3, 1],
    ['id: a\nmetadata:\n  name: "unterminated\n', 'Missing closing "quote', 4, 1],
  ])('reports line and column of a syntax error (%#)', (text, message, line, column) => {
    const err = thrown(() => parseApplicationDescription(text, { file: 'margo.yaml' }));
    expect(err.errors).toEqual([{ field: '', file: 'margo.yaml', message, line, column }]);
  });

  it('never lets a __proto__ key become a prototype', () => {
    const text = `${MINIMAL}x-acme-extensions:\n  __proto__:\n    polluted: true\n`;
    const { description } = parseApplicationDescription(text);
    const ext = description.extensions!['x-acme-extensions'] as Record<string, unknown>;
    expect(Object.getPrototypeOf(ext)).toBe(Object.prototype);
    expect(Object.keys(ext)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseApplicationDescription: leniency for older shapes', () => {
  it('reads helm.v3 as helm and x86_64 as amd64, with warnings', () => {
    const text = MINIMAL.replace('type: compose', 'type: helm.v3').replace(
      '          revision: 1.0.0\n',
      '          revision: 1.0.0\n    requiredResources:\n      cpu:\n        cores: 1\n        architectures: [x86_64]\n',
    );
    const { description, warnings } = parseApplicationDescription(text);
    expect(description.deploymentProfiles[0]!.type).toBe('helm');
    expect(description.deploymentProfiles[0]!.deviceConstraints).toEqual({
      capacityRequirements: { cpu: { cores: 1, architectures: ['amd64'] } },
    });
    expect(warnings.map((w) => w.message).join('\n')).toMatch(
      /helm\.v3[\s\S]*requiredResources[\s\S]*x86_64/,
    );
  });

  it('accepts metadata.id equal to the top-level id, and descriptions without apiVersion and kind', () => {
    const text = MINIMAL.replace('  name: Counter', '  id: acme-counter\n  name: Counter');
    const { description } = parseApplicationDescription(text);
    expect(description.apiVersion).toBeUndefined();
    expect(description.kind).toBeUndefined();
    expect(description.id).toBe('acme-counter');
  });

  it('refuses packageLocation without repository outside compose profiles', () => {
    const text = MINIMAL.replace('type: compose', 'type: helm').replace(
      '          repository: oci://registry.example.com/acme/counter\n          revision: 1.0.0\n',
      '          packageLocation: https://example.com/counter.tgz\n',
    );
    const err = thrown(() => parseApplicationDescription(text));
    expect(err.errors!.map((e) => e.field)).toEqual([
      'deploymentProfiles[0].components[0].properties.repository',
      'deploymentProfiles[0].components[0].properties.revision',
    ]);
  });
});

describe('normalizeApplicationDescription', () => {
  it('checks parsed JSON the same way, without positions', () => {
    const { description } = parseApplicationDescription(readTestdata('valid/compose.yaml'));
    // The margo.yaml shape as JSON (e.g. from an API body), not the normalised form.
    const json = JSON.parse(
      JSON.stringify(parseYaml(readTestdata('valid/compose.yaml').toString())),
    ) as Record<string, unknown>;
    expect(normalizeApplicationDescription(json).description).toEqual(description);
    const bad = { ...json, id: 'Bad Id' };
    const err = thrown(() => normalizeApplicationDescription(bad, { file: 'api' }));
    expect(err.errors).toEqual([
      { field: 'id', file: 'api', message: expect.stringContaining('must match') as string },
    ]);
  });
});
