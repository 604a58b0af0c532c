import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseApplicationDeployment,
  parseApplicationDescription,
  renderApplicationDeployment,
  sha256Digest,
  type RenderApplicationDeploymentInput,
} from './index.js';
import { resolveParameters } from '../model/index.js';
import { readTestdata, testdata, thrown } from './test-helpers.js';

const DEPLOYMENT_ID = '6f1c8a2e-6a1b-4f3e-9b7d-2c1e0f9a8b7c';
const wasm = parseApplicationDescription(readTestdata('valid/wasm-custom.yaml')).description;
const compose = parseApplicationDescription(readTestdata('valid/compose.yaml')).description;

function composeInput(
  over: Partial<RenderApplicationDeploymentInput> = {},
): RenderApplicationDeploymentInput {
  const profile = compose.deploymentProfiles[0]!;
  return {
    deploymentId: DEPLOYMENT_ID,
    name: 'acme-line-monitor-line-1',
    namespace: 'site-berlin',
    deviceId: 'gw-01/edge-02',
    applicationId: compose.id,
    profile,
    parameters: resolveParameters(compose, profile.id, { lineName: 'line-1' }),
    labels: { 'outpost.dev/site': 'berlin', 'outpost.dev/app': 'line-monitor' },
    ...over,
  };
}

describe('renderApplicationDeployment', () => {
  it('writes the rc.3 shape with id, deviceId and applicationId, and parses back to the same object', () => {
    const { yaml, object } = renderApplicationDeployment(composeInput());
    expect(yaml).toMatch(
      /^id: 6f1c8a2e-6a1b-4f3e-9b7d-2c1e0f9a8b7c\nmetadata:\n {2}name: acme-line-monitor-line-1\n {2}namespace: site-berlin\n {2}deviceId: gw-01\/edge-02\n {2}labels:\n {4}outpost\.dev\/app: line-monitor\n {4}outpost\.dev\/site: berlin\nspec:\n {2}applicationId: acme-line-monitor\n {2}deploymentProfile:\n {4}type: compose\n/,
    );
    expect(yaml).not.toMatch(/apiVersion|kind:|annotations|monitor-compose/);
    expect(parseApplicationDeployment(yaml)).toEqual(object);
    expect(object.spec.parameters!.lineName).toEqual({
      value: 'line-1',
      targets: [{ pointer: 'LINE_NAME', components: ['collector', 'dashboard'] }],
    });
  });

  it('copies the profile deviceConstraints and extensions unchanged and never the root extensions', () => {
    const profile = wasm.deploymentProfiles[0]!;
    const { yaml, object } = renderApplicationDeployment({
      deploymentId: DEPLOYMENT_ID,
      name: 'vision',
      namespace: 'default',
      deviceId: 'gw-01/*',
      applicationId: wasm.id,
      profile,
      parameters: resolveParameters(wasm, profile.id, {}),
    });
    expect(object.spec.deploymentProfile.deviceConstraints).toEqual(profile.deviceConstraints);
    expect(object.spec.deploymentProfile.extensions).toEqual({
      'x-outpost-extensions': { runtime: 'wasm', entrypoint: '_start' },
    });
    expect(yaml).toContain('    x-outpost-extensions:\n      runtime: wasm\n      entrypoint: _start\n');
    expect(yaml).not.toContain('catalogCategory');
    expect(object.spec.extensions).toBeUndefined();
    expect(object.metadata.deviceId).toBe('gw-01/*');
  });

  it('gives the same bytes for the same input, whatever the order of parameters and labels', () => {
    const a = renderApplicationDeployment(composeInput());
    const input = composeInput();
    const reversed = composeInput({
      parameters: Object.fromEntries(Object.entries(input.parameters).reverse()),
      labels: Object.fromEntries(Object.entries(input.labels!).reverse()),
    });
    const b = renderApplicationDeployment(reversed);
    expect(b.yaml).toBe(a.yaml);
    expect(sha256Digest(b.yaml)).toBe(sha256Digest(a.yaml));
  });

  it('keeps the same bytes for any parameter values (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 3, maxLength: 32 }),
        fc.integer({ min: 1, max: 100 }),
        (line, rate) => {
          const input = composeInput({
            parameters: {
              lineName: { value: line, targets: [{ pointer: 'LINE_NAME', components: ['collector'] }] },
              sampleRate: {
                value: rate,
                targets: [{ pointer: 'SAMPLE_RATE_HZ', components: ['collector'] }],
              },
            },
          });
          const first = renderApplicationDeployment(input);
          expect(renderApplicationDeployment(structuredClone(input)).yaml).toBe(first.yaml);
          expect(parseApplicationDeployment(first.yaml)).toEqual(first.object);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('adds spec-level extensions the caller passes', () => {
    const { object, yaml } = renderApplicationDeployment(
      composeInput({ extensions: { 'x-acme-extensions': { tier: 1 } } }),
    );
    expect(object.spec.extensions).toEqual({ 'x-acme-extensions': { tier: 1 } });
    expect(yaml).toMatch(/\n {2}x-acme-extensions:\n {4}tier: 1\n$/);
  });

  it('refuses bad input with one FieldProblem each', () => {
    const err = thrown(() =>
      renderApplicationDeployment(
        composeInput({
          deploymentId: 'a b',
          deviceId: 'gw/../x y',
          namespace: '',
          parameters: { p: { value: 1, targets: [{ pointer: 'P', components: ['nope'] }] } },
          extensions: { 'x-Bad': {} },
        }),
      ),
    );
    expect(err.code).toBe('invalid-input');
    expect(err.errors!.map((e) => e.field)).toEqual([
      'deploymentId',
      'namespace',
      'deviceId',
      'parameters.p',
      'extensions.x-Bad',
    ]);
  });
});

describe('parseApplicationDeployment', () => {
  const examples = fs.readdirSync(testdata('examples')).filter((f) => f.startsWith('application-deployment'));

  it.each(examples)('reads %s', (file) => {
    const d = parseApplicationDeployment(readTestdata(`examples/${file}`), { file });
    expect(d.spec.applicationId).toBe('com-northstartida-digitron-orchestrator');
    expect(d.metadata).toMatchObject({
      name: 'com-northstartida-digitron-orchestrator-deployment',
      namespace: 'margo-poc',
    });
    expect(d.spec.deploymentProfile.components.length).toBeGreaterThan(0);
    expect(Object.keys(d.spec.parameters!).length).toBeGreaterThan(5);
  });

  it('reads the older helm shape: annotations, booleans as strings, numbers as strings', () => {
    const d = parseApplicationDeployment(
      readTestdata('examples/application-deployment-example-helm-legacy-annotations.yaml'),
    );
    expect(d.id).toBe('a3e2f5dc-912e-494f-8395-52cf3769bc06');
    expect(d.metadata.deviceId).toBe('');
    expect(d.metadata.annotations).toEqual({ applicationId: 'com-northstartida-digitron-orchestrator' });
    expect(d.spec.deploymentProfile.components[0]).toEqual({
      name: 'database-services',
      properties: {
        repository: 'oci://quay.io/charts/realtime-database-services',
        revision: '2.3.7',
        timeout: '8m30s',
        wait: true,
      },
    });
    expect(d.spec.parameters!.cpuLimit).toEqual({
      value: '4',
      targets: [{ pointer: 'settings.limits.cpu', components: ['digitron-orchestrator'] }],
    });
  });

  it('uses the reader device id when the YAML has none, and the YAML deviceId when it has one', () => {
    const legacy = readTestdata('examples/application-deployment-example-compose-legacy-annotations.yaml');
    expect(parseApplicationDeployment(legacy, { deviceId: 'edge-7' }).metadata.deviceId).toBe('edge-7');
    const directed = readTestdata('examples/application-deployment-example-gateway-directed.yaml');
    expect(parseApplicationDeployment(directed, { deviceId: 'edge-7' }).metadata.deviceId).toBe(
      'gateway-01/edge-01',
    );
  });

  it('ignores unknown members and keeps device-targeted extensions for the device to use or ignore', () => {
    const yaml = `id: d1
metadata: { name: n, namespace: ns, deviceId: gw }
spec:
  applicationId: app
  futureField: 1
  x-someone-extensions: { a: 1 }
  deploymentProfile:
    type: helm
    x-other-extensions: { b: [1, 2] }
    x-NotAnExtension: 3
    components:
      - name: c
        x-vendor-extensions: { c: true }
        properties: { repository: oci://r/c, revision: 1.0.0, wait: "False", unknown: x }
`;
    const d = parseApplicationDeployment(yaml);
    expect(d.spec.extensions).toEqual({ 'x-someone-extensions': { a: 1 } });
    expect(d.spec.deploymentProfile.extensions).toEqual({ 'x-other-extensions': { b: [1, 2] } });
    expect(d.spec.deploymentProfile.components[0]).toEqual({
      name: 'c',
      properties: { repository: 'oci://r/c', revision: '1.0.0', wait: false },
      extensions: { 'x-vendor-extensions': { c: true } },
    });
  });

  it('refuses what a device cannot use, listing every problem', () => {
    const yaml = `metadata: { name: n, deviceId: "gw/a b" }
spec:
  deploymentProfile:
    type: kubectl
    components:
      - properties: { wait: maybe }
  parameters:
    p: { value: { nested: true } }
`;
    const err = thrown(() => parseApplicationDeployment(yaml, { file: 'd.yaml' }));
    expect(err.code).toBe('margo/invalid-deployment');
    expect(err.status).toBe(422);
    expect(err.errors!.map((e) => e.field)).toEqual([
      'id',
      'metadata.namespace',
      'metadata.deviceId',
      'spec.applicationId',
      'spec.deploymentProfile.type',
      'spec.deploymentProfile.components[0].name',
      'spec.deploymentProfile.components[0].properties.wait',
      'spec.parameters.p.value',
    ]);
    expect(err.errors!.every((e) => e.file === 'd.yaml' && typeof e.line === 'number')).toBe(true);
  });

  it('refuses an id that disagrees with metadata.annotations.id', () => {
    const yaml = `id: a
metadata: { name: n, namespace: ns, annotations: { id: b, applicationId: app } }
spec: { deploymentProfile: { type: compose, components: [{ name: c }] } }
`;
    expect(thrown(() => parseApplicationDeployment(yaml)).errors![0]!.field).toBe('metadata.annotations.id');
    expect(parseApplicationDeployment(yaml.replace('id: b', 'id: a')).spec.applicationId).toBe('app');
  });
});
