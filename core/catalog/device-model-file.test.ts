import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeviceModelFile } from './device-model-file.js';
import { OutpostError } from '../../lib/errors/index.js';

const SAMPLE = path.resolve('resources/samples/device-models');
const MAX = 1024 * 1024;

const model = (capabilities: string) => `id: acme-e2
vendor: Acme
modelNumber: E2
runtimes: [oci]
deploymentTypes: [compose]
capabilities:
${capabilities}`;

function refused(content: string): OutpostError {
  try {
    parseDeviceModelFile({ fileName: 'model.yaml', content }, MAX);
  } catch (err) {
    if (err instanceof OutpostError) return err;
    throw err;
  }
  throw new Error('expected the model to be refused');
}

describe('parseDeviceModelFile', () => {
  it('reads the sample model with its icon; the template carries the identity of the model', () => {
    const spec = parseDeviceModelFile(
      {
        fileName: 'edgecircuit-g12.yaml',
        content: fs.readFileSync(path.join(SAMPLE, 'edgecircuit-g12.yaml'), 'utf8'),
        resources: {
          'edgecircuit-g12.svg': fs.readFileSync(path.join(SAMPLE, 'edgecircuit-g12.svg')).toString('base64'),
        },
      },
      MAX,
    );
    expect(spec).toMatchObject({
      id: 'edgecircuit-g12',
      vendor: 'EdgeCircuit Systems',
      modelNumber: 'EC-G12-4',
    });
    expect(spec.icon).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(spec.capabilities.properties).toMatchObject({
      id: 'edgecircuit-g12',
      vendor: 'EdgeCircuit Systems',
      modelNumber: 'EC-G12-4',
      cpus: [{ cores: 4, architecture: 'amd64' }],
      memory: '8Gi',
    });
    expect(spec.capabilities.labels).toEqual({ 'outpost.dev/runtime.wasm': 'true' });
  });

  it('reads an rc.2 template (envelope, cpu) and stores it in the rc.3 shape', () => {
    const spec = parseDeviceModelFile(
      {
        fileName: 'model.yaml',
        content: model(`  apiVersion: device.margo.org/v1alpha1
  kind: DeviceCapabilitiesManifest
  properties:
    cpu: [{ cores: 24, architecture: amd64 }]
    memory: 59 Gi
`),
      },
      MAX,
    );
    expect(spec.capabilities).not.toHaveProperty('apiVersion');
    expect(spec.capabilities).not.toHaveProperty('kind');
    expect(spec.capabilities.properties.cpus).toEqual([{ cores: 24, architecture: 'amd64' }]);
    expect(spec.capabilities.properties).not.toHaveProperty('cpu');
  });

  it.each<[string, string, string, string, number]>([
    [
      'a memory that is not a quantity',
      '  properties:\n    memory: lots\n',
      'capabilities.properties.memory',
      'is not a quantity',
      8,
    ],
    [
      'an architecture Margo does not know',
      '  properties:\n    cpus: [{ cores: 4, architecture: x86 }]\n',
      'capabilities.properties.cpus[0].architecture',
      'must be one of',
      8,
    ],
    [
      'a peripheral type Margo does not know',
      '  properties:\n    peripherals:\n      - type: laser\n',
      'capabilities.properties.peripherals[0].type',
      'must be one of',
      9,
    ],
    [
      'a member the capabilities do not have',
      '  properties: {}\n  extras: { a: 1 }\n',
      'capabilities.extras',
      'unknown member "extras"',
      8,
    ],
  ])('refuses %s, naming the field and its line', (_name, caps, field, message, line) => {
    const e = refused(model(caps));
    expect(e.code).toBe('invalid-input');
    expect(e.errors).toHaveLength(1);
    expect(e.errors![0]).toMatchObject({ field, file: 'model.yaml', line });
    expect(e.errors![0]!.message).toContain(message);
    expect(e.message).toMatch(new RegExp(`^model\\.yaml: 1 problem: ${field.replace(/[.[\]]/g, '\\$&')}: `));
  });
});
