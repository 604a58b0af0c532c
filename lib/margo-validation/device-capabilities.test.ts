import { describe, expect, it } from 'vitest';
import { parseDeviceCapabilities } from './index.js';
import { readTestdata, thrown } from '../margo/test-helpers.js';
import type { OutpostError } from '../errors/index.js';

const json = (name: string): Record<string, unknown> =>
  JSON.parse(readTestdata(`examples/${name}`).toString('utf8')) as Record<string, unknown>;

const RC3 = {
  properties: {
    id: 'gw-01/edge-02',
    vendor: 'Acme',
    modelNumber: 'E2',
    serialNumber: 'SN-1',
    cpus: [{ cores: 4, architecture: 'arm64' }],
    memory: '8Gi',
    storage: '64 Gi',
    peripherals: [{ type: 'camera' }],
    interfaces: [{ type: 'ethernet' }],
    otelCollector: true,
    supportedRuntimes: ['oci', 'custom'],
    supportedDeploymentTypes: ['compose', 'custom'],
    firmware: '1.2',
  },
  labels: { 'acme.example/line': 'line-1', 'outpost.dev/runtimes': ['wasm'], 'acme.example/zone': 3 },
  'x-outpost-extensions': { runtimes: ['wasm'] },
};

describe('parseDeviceCapabilities', () => {
  it('reads an rc.3 body, keeping unknown properties for selectors, labels and extensions', () => {
    const caps = parseDeviceCapabilities(structuredClone(RC3), { pathDeviceId: 'gw-01/edge-02' });
    expect(caps.properties).toEqual(RC3.properties);
    expect(caps.labels).toEqual(RC3.labels);
    expect(caps.extensions).toEqual({ 'x-outpost-extensions': { runtimes: ['wasm'] } });
  });

  it('refuses the rc.2 apiVersion/kind envelope with 400 (rc.3 closes the object), and reads rc.2 cpu as cpus', () => {
    const rc2 = json('device-capabilities-example-rc2.json') as Record<string, unknown>;
    let err: unknown;
    try {
      parseDeviceCapabilities(rc2, { pathDeviceId: 'northstarida.xtapro.k8s.edge' });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'margo/invalid-request', status: 400 });
    expect((err as OutpostError).errors?.map((e) => e.field)).toEqual(['apiVersion', 'kind']);
    const { apiVersion: _a, kind: _k, ...bare } = rc2;
    const caps = parseDeviceCapabilities(bare, { pathDeviceId: 'northstarida.xtapro.k8s.edge' });
    expect(caps.properties.cpus).toEqual([{ cores: 24, architecture: 'amd64' }]);
    expect('cpu' in caps.properties).toBe(false);
    expect(caps.properties.memory).toBe('59 Gi');
  });

  it('reads the labels SUP example (custom runtime, boolean label) without its rc.2 envelope', () => {
    // The SUP's example still carries the envelope of its time, which rc.3 refuses.
    const {
      apiVersion: _a,
      kind: _k,
      ...sup
    } = json('device-capabilities-example-labels-sup.json') as Record<string, unknown>;
    const caps = parseDeviceCapabilities(sup);
    expect(caps.labels).toEqual({ 'example.com/hyper-v.host': true });
    expect(caps.properties.supportedRuntimes).toEqual(['custom']);
  });

  it('reads a non-hosting see-thru gateway (identity only)', () => {
    const caps = parseDeviceCapabilities({
      properties: { id: 'gw-01', vendor: 'A', modelNumber: 'M', serialNumber: 'S' },
    });
    expect(caps.properties.cpus).toBeUndefined();
  });

  it.each<[string, unknown, string, string]>([
    ['not an object', [1, 2], '', 'must be a JSON object, not a list'],
    ['unknown top-level member', { ...RC3, roles: ['Gateway'] }, 'roles', 'unknown member "roles"'],
    ['rc.2 kind', { ...RC3, kind: 'DeviceCapabilitiesManifest' }, 'kind', 'no apiVersion/kind envelope'],
    ['rc.2 apiVersion', { ...RC3, apiVersion: 'margo.org/v1' }, 'apiVersion', 'no apiVersion/kind envelope'],
    ['bad extension key', { ...RC3, 'x-Acme-extensions': {} }, 'x-Acme-extensions', 'unknown member'],
    ['extension not an object', { ...RC3, 'x-acme-extensions': 5 }, 'x-acme-extensions', 'must be object'],
    [
      'wrong type',
      { ...RC3, properties: { ...RC3.properties, otelCollector: 'yes' } },
      'properties.otelCollector',
      'must be boolean',
    ],
    [
      'label of an object',
      { ...RC3, labels: { a: { b: 1 } } },
      'labels.a',
      'must be a string, number, boolean, or a list',
    ],
  ])('answers 400 invalid-request for a malformed body: %s', (_name, body, field, message) => {
    const err = thrown(() => parseDeviceCapabilities(body));
    expect(err.code).toBe('margo/invalid-request');
    expect(err.status).toBe(400);
    expect(err.errors).toContainEqual({ field, message: expect.stringContaining(message) as string });
  });

  it.each<[string, unknown, string, string]>([
    [
      'missing vendor',
      { properties: { id: 'd', modelNumber: 'M', serialNumber: 'S' } },
      'properties.vendor',
      'is required',
    ],
    [
      'bad device id',
      { ...RC3, properties: { ...RC3.properties, id: 'gw 01' } },
      'properties.id',
      'must match',
    ],
    [
      'unknown runtime',
      { ...RC3, properties: { ...RC3.properties, supportedRuntimes: ['wasm'] } },
      'properties.supportedRuntimes[0]',
      'must be one of oci, custom',
    ],
    [
      'no runtime',
      { ...RC3, properties: { ...RC3.properties, supportedRuntimes: [] } },
      'properties.supportedRuntimes',
      'at least 1 item',
    ],
    [
      'architecture',
      { ...RC3, properties: { ...RC3.properties, cpus: [{ cores: 1, architecture: 'riscv64' }] } },
      'properties.cpus[0].architecture',
      'must be one of amd64, arm64, arm',
    ],
    [
      'memory not a quantity',
      { ...RC3, properties: { ...RC3.properties, memory: 'lots' } },
      'properties.memory',
      '"lots" is not a quantity',
    ],
    ['path mismatch', RC3, 'properties.id', 'differs from the device id in the path "gw-01/edge-03"'],
    [
      'cpu and cpus',
      { ...RC3, properties: { ...RC3.properties, cpu: [{ cores: 1 }] } },
      'properties.cpu',
      'both given',
    ],
  ])('answers 422 semantic-error: %s', (name, body, field, message) => {
    const opts = name === 'path mismatch' ? { pathDeviceId: 'gw-01/edge-03' } : {};
    const err = thrown(() => parseDeviceCapabilities(structuredClone(body), opts));
    expect(err.code).toBe('margo/semantic-error');
    expect(err.status).toBe(422);
    expect(err.errors).toEqual([{ field, message: expect.stringContaining(message) as string }]);
    expect(err.toProblem().errors).toBeDefined();
  });

  it('refuses a malformed path device id as 400', () => {
    const err = thrown(() => parseDeviceCapabilities(RC3, { pathDeviceId: 'gw-01//x' }));
    expect([err.code, err.errors![0]!.field]).toEqual(['margo/invalid-request', 'deviceId']);
  });
});
