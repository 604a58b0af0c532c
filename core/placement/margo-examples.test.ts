/**
 * The constraint examples of the Margo spec (copied from the Margo specification into ./testdata) through the
 * placement engine. The files are in their published shapes; `toProfile`/`toCapabilities` below do
 * the little normalisation the engine expects (rc.2 `cpu` -> `cpus`, `requiredResources` ->
 * DeviceConstraints), standing in for lib/margo's parser so these tests do not depend on it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type {
  DeploymentProfile,
  DeviceCapabilities,
  DeviceConstraints,
  PlacementNode,
  PlacementResult,
} from '../../lib/model/index.js';
import { place } from './index.js';
import { NOW } from './testing/nodes.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');

function readProfiles(file: string): DeploymentProfile[] {
  const doc = parseYaml(fs.readFileSync(path.join(dir, file), 'utf8')) as {
    deploymentProfiles: Record<string, unknown>[];
  };
  return doc.deploymentProfiles.map(toProfile);
}

function toProfile(raw: Record<string, unknown>): DeploymentProfile {
  const { requiredResources, deviceConstraints, ...rest } = raw as {
    requiredResources?: Record<string, unknown>;
    deviceConstraints?: DeviceConstraints;
  };
  let dc = deviceConstraints;
  if (requiredResources) {
    const { cpu, memory, storage, peripherals, interfaces } =
      requiredResources as DeviceConstraints['capacityRequirements'] & {
        peripherals?: DeviceConstraints['requiredPeripherals'];
        interfaces?: DeviceConstraints['requiredInterfaces'];
      };
    dc = {
      capacityRequirements: { cpu, memory, storage },
      ...(peripherals ? { requiredPeripherals: peripherals } : {}),
      ...(interfaces ? { requiredInterfaces: interfaces } : {}),
    };
  }
  return { ...(rest as unknown as DeploymentProfile), ...(dc ? { deviceConstraints: dc } : {}) };
}

function readCapabilities(file: string): DeviceCapabilities {
  const raw = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as {
    properties: Record<string, unknown>;
    labels?: DeviceCapabilities['labels'];
  };
  const { cpu, ...props } = raw.properties;
  return {
    properties: { ...(props as DeviceCapabilities['properties']), ...(cpu ? { cpus: cpu as never } : {}) },
    ...(raw.labels ? { labels: raw.labels } : {}),
  };
}

function nodeWith(uid: string, capabilities: DeviceCapabilities): PlacementNode {
  return {
    uid,
    name: uid,
    siteId: 'plant-1',
    enrolled: true,
    cordoned: false,
    presence: 'online',
    lastSeenAt: NOW,
    capabilities,
    labels: { ...(capabilities.labels ?? {}) },
    reserved: { cpuCores: 0, memoryBytes: 0, storageBytes: 0 },
  };
}

function placeOn(profile: DeploymentProfile, ...nodes: PlacementNode[]): PlacementResult {
  return place({ profile, replicas: 'all', now: NOW, staleAfterMs: 60_000 }, nodes);
}

function reasonsOf(r: PlacementResult, uid: string): string[] {
  return r.candidates.find((c) => c.uid === uid)!.reasons.map((x) => x.code);
}

const rc2Device = readCapabilities('device-capabilities-example-rc2.json');
const hyperVDevice = readCapabilities('device-capabilities-example-labels-sup.json');
const [hyperVProfile] = readProfiles('application-description-example-custom-eligibility-sup.yaml');
const [masterControl] = readProfiles('application-description-example-device-constraints-sup.yaml');
const [digitronHelm, digitronCompose] = readProfiles(
  'application-description-example-002-helm-and-compose.yaml',
);
const [helloWorld] = readProfiles('application-description-example-001-helm-hello-world.yaml');

describe('Margo examples: device-specific runtime SUP (custom profile, property + label selector)', () => {
  it('does not place on the example device because it reports no CPUs and the profile needs 1 core (capacity first)', () => {
    const r = placeOn(hyperVProfile!, nodeWith('g12', hyperVDevice));
    expect(r.placeable).toBe(false);
    expect(r.candidates[0]!.reasons).toEqual([
      { code: 'capacity.cpu', message: 'needs 1 CPU cores, node reports no CPUs' },
    ]);
  });

  const withCpus: DeviceCapabilities = {
    ...hyperVDevice,
    properties: { ...hyperVDevice.properties, cpus: [{ cores: 8, architecture: 'amd64' }] },
  };

  it('places on the example device once it reports its CPUs: vendor In and the boolean label both match', () => {
    const r = placeOn(hyperVProfile!, nodeWith('g12', withCpus));
    expect(r.placed).toEqual(['g12']);
  });

  it('requires both selectors of the rule: a false label or another vendor fails it', () => {
    const noLabel = nodeWith('nolabel', { ...withCpus, labels: { 'example.com/hyper-v.host': false } });
    const textLabel = nodeWith('text', { ...withCpus, labels: { 'example.com/hyper-v.host': 'true' } });
    const otherVendor = nodeWith('other', {
      ...withCpus,
      properties: { ...withCpus.properties, vendor: 'Northstar Industrial Devices' },
    });
    const r = placeOn(hyperVProfile!, noLabel, textLabel, otherVendor);
    expect(r.placeable).toBe(false);
    for (const uid of ['nolabel', 'text', 'other']) expect(reasonsOf(r, uid)).toEqual(['rule.no-match']);
    expect(r.candidates.find((c) => c.uid === 'text')!.reasons[0]!.message).toContain(
      'label "example.com/hyper-v.host" is string "true", expected boolean',
    );
  });

  it('does not place the custom profile on the rc.2 helm/compose device', () => {
    const r = placeOn(hyperVProfile!, nodeWith('xtapro', rc2Device));
    expect(reasonsOf(r, 'xtapro')).toEqual(['deployment-type', 'runtime']);
  });
});

describe('Margo examples: device constraints SUP (helm profile with capacity only)', () => {
  it('places on the rc.2 device (24 amd64 cores, "59 Gi" memory, "1862 Gi" storage)', () => {
    const r = placeOn(masterControl!, nodeWith('xtapro', rc2Device));
    expect(r.placed).toEqual(['xtapro']);
    expect(r.candidates[0]!.capacityAfter).toEqual({
      cpuCores: 23,
      memoryBytes: 58 * 1024 ** 3,
      storageBytes: 1857 * 1024 ** 3,
    });
  });

  it('does not place it on the custom-only device', () => {
    const r = placeOn(masterControl!, nodeWith('g12', hyperVDevice));
    expect(reasonsOf(r, 'g12')).toEqual(['deployment-type', 'runtime', 'capacity.cpu']);
  });
});

describe('Margo examples: legacy requiredResources (Digitron helm + compose)', () => {
  it('rejects the rc.2 device: it has the NVIDIA GPU and ethernet but no display and no bluetooth', () => {
    const r = placeOn(digitronHelm!, nodeWith('xtapro', rc2Device));
    expect(r.candidates[0]!.reasons).toEqual([
      { code: 'peripheral', message: 'needs peripheral display (node has: gpu NVIDIA)' },
      { code: 'interface', message: 'needs interface bluetooth (node has: ethernet, wifi)' },
    ]);
  });

  it('places once the device has a display and bluetooth', () => {
    const p = rc2Device.properties;
    const r = placeOn(
      digitronHelm!,
      nodeWith('xtapro', {
        ...rc2Device,
        properties: {
          ...p,
          peripherals: [...(p.peripherals ?? []), { type: 'display' }],
          interfaces: [...(p.interfaces ?? []), { type: 'bluetooth' }],
        },
      }),
    );
    expect(r.placed).toEqual(['xtapro']);
    expect(r.reservation).toEqual({ cpuCores: 1.5, memoryBytes: 1024 ** 3, storageBytes: 10 * 1024 ** 3 });
  });

  it('rejects an arm64 device for the amd64-only helm profile', () => {
    const arm = nodeWith('arm', {
      ...rc2Device,
      properties: { ...rc2Device.properties, cpus: [{ cores: 24, architecture: 'arm64' }] },
    });
    expect(reasonsOf(placeOn(digitronHelm!, arm), 'arm')).toContain('arch');
  });

  it('places the unconstrained compose profile on the rc.2 device', () => {
    expect(placeOn(digitronCompose!, nodeWith('xtapro', rc2Device)).placed).toEqual(['xtapro']);
  });
});

describe('Margo examples: hello world (no constraints)', () => {
  it('places on the helm device and not on the custom-only one', () => {
    const r = placeOn(helloWorld!, nodeWith('xtapro', rc2Device), nodeWith('g12', hyperVDevice));
    expect(r.placed).toEqual(['xtapro']);
    expect(reasonsOf(r, 'g12')).toEqual(['deployment-type', 'runtime']);
    expect(r.summary).toBe('placed on 1 of 2 nodes');
  });
});
