/** Small builders for placement tests. Not used by production code. */
import type {
  DeploymentProfile,
  DeviceCapabilities,
  DeviceConstraints,
  PlacementNode,
  PlacementRequest,
} from '../../../lib/model/index.js';

export const Mi = 1024 ** 2;
export const Gi = 1024 ** 3;
export const NOW = Date.UTC(2026, 0, 1, 12);

type Props = DeviceCapabilities['properties'];

export interface NodeSpec extends Partial<Omit<PlacementNode, 'capabilities'>> {
  /** Merged over a healthy amd64 compose/helm node with 8 cores, 16Gi memory, 100Gi storage. */
  props?: Partial<Props>;
  capabilities?: DeviceCapabilities | null;
  extensions?: Record<string, unknown>;
}

export function testNode(uid: string, spec: NodeSpec = {}): PlacementNode {
  const { props, extensions, capabilities, ...rest } = spec;
  const caps: DeviceCapabilities | null =
    capabilities === null
      ? null
      : (capabilities ?? {
          properties: {
            id: `dev-${uid}`,
            vendor: 'Northstar Industrial Devices',
            modelNumber: '332ANZE1-N1',
            serialNumber: `SN-${uid}`,
            cpus: [{ cores: 8, architecture: 'amd64' }],
            memory: '16Gi',
            storage: '100Gi',
            peripherals: [],
            interfaces: [{ type: 'ethernet' }],
            supportedRuntimes: ['oci'],
            supportedDeploymentTypes: ['helm', 'compose'],
            ...props,
          },
          ...(extensions ? { extensions } : {}),
        });
  return {
    uid,
    name: `name-${uid}`,
    siteId: 'site-a',
    enrolled: true,
    cordoned: false,
    presence: 'online',
    lastSeenAt: NOW - 1_000,
    capabilities: caps,
    labels: {},
    reserved: { cpuCores: 0, memoryBytes: 0, storageBytes: 0 },
    ...rest,
  };
}

export function testProfile(
  deviceConstraints?: DeviceConstraints,
  over: Partial<DeploymentProfile> = {},
): DeploymentProfile {
  return {
    type: 'compose',
    id: 'profile-1',
    components: [{ name: 'app', properties: { repository: 'oci://registry.local/app', revision: '1.0.0' } }],
    ...(deviceConstraints ? { deviceConstraints } : {}),
    ...over,
  };
}

export function testRequest(over: Partial<PlacementRequest> = {}): PlacementRequest {
  return { profile: testProfile(), replicas: 1, now: NOW, staleAfterMs: 60_000, ...over };
}
