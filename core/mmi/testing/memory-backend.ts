import { buildBundle, serializeStateManifest, sha256Digest } from '../../../lib/margo/index.js';
import type { Clock } from '../../../lib/base/index.js';
import { OutpostError } from '../../../lib/errors/index.js';
import {
  buildTrustBundle,
  clientSpiffeId,
  createEnrollmentToken,
  hashEnrollmentSecret,
  isExpired,
  parseEnrollmentToken,
  wfmSpiffeId,
} from '../../../lib/identity/index.js';
import { issueSvid } from '../../ca/index.js';
import { parseCsr } from '../../../lib/x509/index.js';
import {
  type StateManifest,
  type DeploymentStatus,
  type DeviceCapabilities,
} from '../../../lib/model/index.js';
import type { EnrollRequest, EnrollResponse } from '../../../lib/mmi/index.js';
import type { MmiBackend, MmiClient, StoredManifest } from '../backend.js';

/**
 * An MmiBackend in memory, for the MMI server's tests and for agent tests that need a WFM: it follows the
 * rules the real backend (core/lo) must follow, so the conformance suite (core/mmi/conformance) can run
 * against both. Per client: a manifestVersion that starts at 1 and only grows, deployments keyed by id,
 * every YAML and bundle it ever served (old digests stay fetchable), the bundle built once per manifest
 * (deterministic tar, mtime 0, gzip) and stored, capabilities with the gateway rule, and status reports.
 * Enrollment consumes a one-time token after the CSR was checked, so bad input never burns a token.
 */

export interface MemoryMmiBackendOptions {
  /** The site CA: signs enrolled nodes' SVIDs and is the trust bundle's anchor. */
  ca: { certPem: string; keyPem: string; fingerprint: string };
  trustDomain: string;
  wfmId: string;
  clock: Clock;
  /** Prefix of the URLs written into manifests (the server's basePath, e.g. `/v1alpha2/margo`). */
  urlPrefix?: string;
  svidTtlSeconds?: number;
}

export interface MemoryMmiBackend extends MmiBackend {
  /** What enrollment responses give as `mmiUrl`; set it once the server listens. */
  mmiUrl: string;
  /** Adds a client to the accepted-client policy (as an operator approval or an enrollment does). */
  accept(clientId: string): void;
  /** Puts a client on the deny list: its next request gets 403, even on an open connection. */
  revoke(clientId: string): void;
  /** Denies one certificate by serial (hex). */
  denySerial(serialHex: string): void;
  /** Replaces a client's desired state; bumps manifestVersion when it changed and builds the bundle once. */
  setDeployments(
    clientId: string,
    deployments: readonly { deploymentId: string; yaml: string | Buffer }[],
  ): Promise<StoredManifest>;
  /** A one-time token for `nodeName` (the enrolled client id); `expiresAt` default one hour ahead. */
  createEnrollmentToken(input: { nodeName: string; expiresAt?: number }): string;
  devices(clientId: string): ReadonlyMap<string, DeviceCapabilities>;
  statuses(clientId: string): ReadonlyMap<string, DeploymentStatus>;
  lastSeen(clientId: string): number | undefined;
  /** Every later backend call throws `err` (undefined: back to normal). For 5xx tests. */
  failWith(err: unknown): void;
  /** Replaces stored bytes for a digest with different bytes (for tests of the server's digest check). */
  corrupt(clientId: string, digest: string): void;
}

interface ClientState {
  version: number;
  manifest: StoredManifest | undefined;
  current: Map<string, string>;
  yamls: Map<string, Buffer>;
  bundles: Map<string, Buffer>;
  everAssigned: Set<string>;
  devices: Map<string, DeviceCapabilities>;
  statuses: Map<string, DeploymentStatus>;
  lastSeen?: number;
}

interface TokenRecord {
  nodeName: string;
  expiresAt: number;
  used: boolean;
}

function margoError(
  code: string,
  status: number,
  message: string,
  errors?: { field: string; message: string }[],
): OutpostError {
  return new OutpostError(code, message, { status, errors });
}

export function createMemoryMmiBackend(options: MemoryMmiBackendOptions): MemoryMmiBackend {
  const { ca, trustDomain, wfmId, clock } = options;
  const prefix = options.urlPrefix ?? '';
  const clients = new Map<string, ClientState>();
  const accepted = new Set<string>();
  const revoked = new Set<string>();
  const deniedSerials = new Set<string>();
  const tokens = new Map<string, TokenRecord>();
  let failure: unknown;

  function guard(): void {
    if (failure !== undefined) throw failure;
  }

  function state(clientId: string): ClientState {
    let s = clients.get(clientId);
    if (s === undefined) {
      s = {
        version: 0,
        manifest: undefined,
        current: new Map(),
        yamls: new Map(),
        bundles: new Map(),
        everAssigned: new Set(),
        devices: new Map(),
        statuses: new Map(),
      };
      clients.set(clientId, s);
    }
    return s;
  }

  async function publish(s: ClientState, bundleBytes: Buffer | undefined): Promise<StoredManifest> {
    const ids = [...s.current.keys()].sort();
    let bundle: StateManifest['bundle'] = null;
    if (bundleBytes !== undefined) {
      const digest = sha256Digest(bundleBytes);
      s.bundles.set(digest, bundleBytes);
      bundle = {
        mediaType: 'application/vnd.margo.bundle.v1+tar+gzip',
        digest,
        sizeBytes: bundleBytes.length,
        url: `${prefix}/api/v1/bundles/${digest}`,
      };
    }
    s.version += 1;
    const m: StateManifest = {
      manifestVersion: s.version,
      bundle,
      deployments: ids.map((id) => {
        const digest = s.current.get(id)!;
        return {
          deploymentId: id,
          digest,
          sizeBytes: s.yamls.get(`${id} ${digest}`)!.length,
          url: `${prefix}/api/v1/deployments/${id}/${digest}`,
        };
      }),
    };
    const bytes = serializeStateManifest(m);
    s.manifest = { bytes, digest: sha256Digest(bytes), manifestVersion: s.version };
    return s.manifest;
  }

  const backend: MemoryMmiBackend = {
    mmiUrl: '',

    authorize(client: MmiClient) {
      guard();
      if (revoked.has(client.clientId)) return { ok: false, reason: 'the node was revoked' };
      if (deniedSerials.has(client.serialHex.toLowerCase())) {
        return { ok: false, reason: `certificate ${client.serialHex} was revoked` };
      }
      if (!accepted.has(client.clientId)) {
        return { ok: false, reason: 'not in the accepted-client policy (not enrolled or not approved)' };
      }
      return { ok: true };
    },

    seen(client, at) {
      state(client.clientId).lastSeen = at;
    },

    manifest(client) {
      guard();
      const s = state(client.clientId);
      if (s.manifest === undefined) {
        // Version 1, no deployments, bundle null: written synchronously since there is nothing to pack.
        s.version = 1;
        const bytes = serializeStateManifest({ manifestVersion: 1, bundle: null, deployments: [] });
        s.manifest = { bytes, digest: sha256Digest(bytes), manifestVersion: 1 };
      }
      return s.manifest;
    },

    deploymentYaml(client, deploymentId, digest) {
      guard();
      return clients.get(client.clientId)?.yamls.get(`${deploymentId} ${digest}`);
    },

    bundle(client, digest) {
      guard();
      return clients.get(client.clientId)?.bundles.get(digest);
    },

    putCapabilities(client, deviceId, capabilities) {
      guard();
      const s = state(client.clientId);
      const slash = deviceId.lastIndexOf('/');
      if (slash > 0) {
        const parent = deviceId.slice(0, slash);
        if (!s.devices.has(parent)) {
          throw margoError(
            'margo/gateway-not-found',
            404,
            `gateway "${parent}" is not registered for this client; PUT its capabilities before its child devices`,
          );
        }
      }
      const existed = s.devices.has(deviceId);
      s.devices.set(deviceId, capabilities);
      return existed ? 'updated' : 'created';
    },

    deleteCapabilities(client, deviceId) {
      guard();
      const s = clients.get(client.clientId);
      if (s === undefined || !s.devices.has(deviceId)) {
        throw margoError(
          'margo/device-not-found',
          404,
          `no device "${deviceId}" is registered for this client`,
        );
      }
      for (const id of [...s.devices.keys()]) {
        if (id === deviceId || id.startsWith(`${deviceId}/`)) s.devices.delete(id);
      }
    },

    postStatus(client, status) {
      guard();
      const s = clients.get(client.clientId);
      if (s === undefined || !s.everAssigned.has(status.deploymentId)) {
        throw margoError(
          'margo/deployment-not-found',
          404,
          `deployment ${status.deploymentId} was never assigned to this client`,
        );
      }
      if (status.adoptedManifestVersion > s.version) {
        throw margoError(
          'margo/semantic-error',
          422,
          `adoptedManifestVersion ${status.adoptedManifestVersion} is newer than the latest manifest (${s.version}) issued to this client`,
          [{ field: 'adoptedManifestVersion', message: `must not exceed ${s.version}` }],
        );
      }
      const existed = s.statuses.has(status.deploymentId);
      s.statuses.set(status.deploymentId, status);
      return existed ? 'updated' : 'created';
    },

    async enroll(request: EnrollRequest): Promise<EnrollResponse> {
      guard();
      await parseCsr(request.csrPem); // bad input first: it must not burn the token
      let secret: string;
      try {
        secret = parseEnrollmentToken(request.token).secret;
      } catch (cause) {
        throw new OutpostError('margo/not-authorized', 'enrollment token is not a valid token', {
          status: 403,
          cause,
        });
      }
      const key = hashEnrollmentSecret(secret);
      const record = tokens.get(key);
      if (record === undefined) {
        throw margoError('margo/not-authorized', 403, 'enrollment token is not known to this site');
      }
      if (record.used) throw margoError('margo/not-authorized', 403, 'enrollment token was already used');
      if (isExpired(record, clock.now())) {
        throw margoError(
          'margo/not-authorized',
          403,
          `enrollment token expired at ${new Date(record.expiresAt).toISOString()}`,
        );
      }
      record.used = true;
      try {
        const spiffeId = clientSpiffeId(trustDomain, wfmId, record.nodeName);
        const issued = await issueSvid({
          ca,
          csrPem: request.csrPem,
          spiffeId,
          now: clock.now(),
          ttlSeconds: options.svidTtlSeconds ?? 86_400,
        });
        accepted.add(record.nodeName);
        revoked.delete(record.nodeName);
        return {
          clientId: record.nodeName,
          spiffeId,
          certPem: issued.certPem,
          anchorsPem: [ca.certPem],
          wfmSpiffeId: wfmSpiffeId(trustDomain, wfmId),
          mmiUrl: backend.mmiUrl,
          notAfter: issued.notAfter,
        };
      } catch (err) {
        record.used = false;
        throw err;
      }
    },

    trustBundle() {
      guard();
      return {
        json: buildTrustBundle({ anchorsPem: [ca.certPem], sequence: 1, refreshHintSeconds: 3600 }),
        sequence: 1,
      };
    },

    accept(clientId) {
      accepted.add(clientId);
    },
    revoke(clientId) {
      revoked.add(clientId);
    },
    denySerial(serialHex) {
      deniedSerials.add(serialHex.toLowerCase());
    },

    async setDeployments(clientId, deployments) {
      const s = state(clientId);
      const next = new Map<string, { digest: string; bytes: Buffer }>();
      for (const d of deployments) {
        const bytes = Buffer.isBuffer(d.yaml) ? Buffer.from(d.yaml) : Buffer.from(d.yaml, 'utf8');
        next.set(d.deploymentId, { digest: sha256Digest(bytes), bytes });
      }
      const unchanged =
        s.manifest !== undefined &&
        next.size === s.current.size &&
        [...next].every(([id, v]) => s.current.get(id) === v.digest);
      if (unchanged) return s.manifest!;
      s.current = new Map([...next].map(([id, v]) => [id, v.digest]));
      for (const [id, v] of next) {
        s.yamls.set(`${id} ${v.digest}`, v.bytes);
        s.everAssigned.add(id);
      }
      const entries = [...next.keys()].sort().map((id) => ({ deploymentId: id, yaml: next.get(id)!.bytes }));
      return publish(s, entries.length === 0 ? undefined : buildBundle(entries));
    },

    createEnrollmentToken({ nodeName, expiresAt }) {
      const created = createEnrollmentToken({
        siteId: 'site-1',
        nodeName,
        tenantId: 'tenant-1',
        caFingerprint: ca.fingerprint,
        expiresAt: expiresAt ?? clock.now() + 3_600_000,
      });
      tokens.set(created.secretHash, { nodeName, expiresAt: created.expiresAt, used: false });
      return created.token;
    },

    devices: (clientId) => clients.get(clientId)?.devices ?? new Map(),
    statuses: (clientId) => clients.get(clientId)?.statuses ?? new Map(),
    lastSeen: (clientId) => clients.get(clientId)?.lastSeen,
    failWith(err) {
      failure = err;
    },
    corrupt(clientId, digest) {
      const s = clients.get(clientId);
      if (s === undefined) return;
      const flip = (b: Buffer) => Buffer.concat([b, Buffer.from('\n# tampered\n')]);
      const bundle = s.bundles.get(digest);
      if (bundle !== undefined) s.bundles.set(digest, flip(bundle));
      for (const [k, v] of s.yamls) if (k.endsWith(` ${digest}`)) s.yamls.set(k, flip(v));
    },
  };
  return backend;
}
