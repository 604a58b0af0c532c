import crypto from 'node:crypto';
import { and, desc, eq } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { AuditLog } from '../audit.js';
import { enrollTokens, loDevices, nodeDevices, nodes, svids } from '../store/schema/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import {
  buildTrustBundle,
  clientSpiffeId,
  enrollmentSecretMatches,
  hashEnrollmentSecret,
  parseEnrollmentToken,
} from '../../lib/identity/index.js';
import { issueSvid, parseRenewalCsr } from '../ca/index.js';
import { parseCsr } from '../../lib/x509/index.js';
import type { DeploymentStatus, DeviceCapabilities } from '../../lib/model/index.js';
import {
  type EnrollRequest,
  type EnrollResponse,
  type RenewResponse,
  reportEventTime,
} from '../../lib/mmi/index.js';
import type { MmiBackend, MmiClient, RenewRequest, StoredManifest } from '../mmi/backend.js';
import type { ManifestStore } from './manifests.js';
import type { SiteIdentity } from './identity-store.js';
import { splitClientId } from './follower.js';
import { createAcceptedClients } from './accepted-clients.js';
import { mcuReportOf } from '../fleet/node-view.js';
import { createStatusBatcher } from './status-batch.js';

/** Where status reports go: the CO's deployment records (role all), or upward through NATS (role lo). */
export interface StatusSink {
  record(report: {
    clientId: string;
    status: DeploymentStatus;
    digest: string | undefined;
    receivedAt: number;
    /** When the node made the report, on this server's clock (ADR 0169); null when it did not say. */
    eventAt: number | null;
  }): 'created' | 'updated';
}

export interface LoBackendDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  manifests: ManifestStore;
  identity: SiteIdentity;
  statusSink: StatusSink;
  svidTtlSeconds: number;
  /** A node may renew once its newest SVID is this old; default renewMinAgeSeconds(svidTtlSeconds) (ADR 0380). */
  renewMinAgeSeconds?: number;
  /** Where renewals (issued and refused) are recorded. */
  audit?: AuditLog;
  mmiUrl: () => string | null;
  /** The site registry's URL for agents (null: no site registry). */
  registryUrl?: () => string | null;
  /** Per-node messaging credentials, when NATS runs. */
  natsCredentials?: (clientId: string, siteId: string) => Promise<EnrollResponse['nats']>;
  /** Called when a node's capabilities or presence changed (console events). */
  onNodeChanged?: (tenantId: string) => void;
  /** Called inside the transaction that enrolled a node or stored its root capabilities (remote LO: tell the CO). */
  onInventoryChanged?: (clientId: string) => void;
}

/**
 * How young a node's newest SVID may be before the LO refuses to renew it again: one hour, or a tenth of
 * the lifetime when that is shorter. An agent renews when a third of the lifetime is left, far beyond this;
 * only a broken agent in a loop (or a crash after a renewal, before the new pair was saved) meets it.
 */
export function renewMinAgeSeconds(svidTtlSeconds: number): number {
  return Math.max(1, Math.min(3600, Math.floor(svidTtlSeconds / 10)));
}

/** How often last-seen times are written (they are kept in memory in between). */
export const SEEN_FLUSH_MS = 5_000;

export function createLoBackend(
  deps: LoBackendDeps,
): MmiBackend & { flushSeen(): void; seenAt(clientId: string): number | null } {
  const { store, clock, manifests, identity } = deps;
  const db = store.db;
  const log = deps.logger.child({ component: 'lo-backend' });
  const pendingSeen = new Map<string, number>();
  const flushStmt = store.sqlite.prepare(
    'UPDATE nodes SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE uid = ?',
  );
  // A host that is seen carries its connected MCUs (child device nodes `<host>/<mcu>`, ADR 0443): their
  // uids are `<host uid>/...`, a range of the primary key ('0' follows '/').
  const flushChildrenStmt = store.sqlite.prepare(
    `UPDATE nodes SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE uid > ? AND uid < ?
       AND coalesce(json_extract(capabilities, '$.extensions."x-outpost-extensions".mcu.connected'), 1) = 1`,
  );

  const accepted = createAcceptedClients(store);
  const statuses = createStatusBatcher({ store, sink: deps.statusSink });

  /**
   * A child device of a see-thru gateway is a node of its own, `<host>/<child>` (ADR 0443): placed on,
   * listed and shown with its parent. It takes the host's site and enrollment; its last-seen is the
   * host's while the host reports it connected (flushSeen), else the last answer the host had from it.
   */
  function upsertChildNode(
    hostUid: string,
    deviceId: string,
    capabilities: DeviceCapabilities,
    now: number,
  ): void {
    const host = db.select().from(nodes).where(eq(nodes.uid, hostUid)).get();
    if (!host) return;
    const name = `${host.name}/${deviceId.slice(deviceId.indexOf('/') + 1)}`;
    const uid = `${host.tenantId}.${name}`;
    const mcu = mcuReportOf(capabilities);
    const lastSeenAt = mcu?.connected === false ? (mcu.lastSeenAt ?? null) : now;
    const existing = db.select({ uid: nodes.uid }).from(nodes).where(eq(nodes.uid, uid)).get();
    if (existing) {
      db.update(nodes)
        .set({ capabilities, capabilitiesAt: now, siteId: host.siteId, state: host.state, lastSeenAt })
        .where(eq(nodes.uid, uid))
        .run();
    } else {
      db.insert(nodes)
        .values({
          uid,
          tenantId: host.tenantId,
          name,
          siteId: host.siteId,
          modelId: null,
          labels: {},
          cordoned: false,
          state: host.state,
          capabilities,
          capabilitiesAt: now,
          lastSeenAt,
          enrolledAt: host.enrolledAt,
          revokedAt: null,
          createdAt: now,
        })
        .run();
    }
  }

  const backend: MmiBackend & { flushSeen(): void; seenAt(clientId: string): number | null } = {
    /** The newest request of a node not yet written to the database (written every SEEN_FLUSH_MS). */
    seenAt: (clientId) => pendingSeen.get(clientId) ?? null,
    authorize: (client: MmiClient) => accepted.authorize(client),
    seen(client, at) {
      pendingSeen.set(client.clientId, Math.max(at, pendingSeen.get(client.clientId) ?? 0));
    },
    flushSeen() {
      if (pendingSeen.size === 0) return;
      const batch = [...pendingSeen];
      pendingSeen.clear();
      store.tx(() => {
        for (const [uid, at] of batch) {
          flushStmt.run(at, uid);
          flushChildrenStmt.run(at, `${uid}/`, `${uid}0`);
        }
      });
      const tenants = new Set(batch.map(([uid]) => splitClientId(uid)?.tenantId).filter(Boolean) as string[]);
      for (const t of tenants) deps.onNodeChanged?.(t);
    },
    manifestTag(client) {
      return manifests.tag(client.clientId);
    },
    manifest(client): StoredManifest {
      const m = manifests.current(client.clientId);
      if (m) return m;
      // No manifest yet: this client has no deployments in the adopted desired state (every node that has
      // one got its manifest when the state was adopted). Its first manifest is version 1, empty.
      return manifests.ensureEmpty(client.clientId);
    },
    deploymentYaml(client, deploymentId, digest) {
      return manifests.yaml(client.clientId, deploymentId, digest);
    },
    bundle(client, digest) {
      return manifests.bundle(client.clientId, digest);
    },
    putCapabilities(client, deviceId, capabilities: DeviceCapabilities) {
      const now = clock.now();
      // Only a node has capabilities: an accepted client that is none (a conformance tester's SVID from
      // `site client issue`) would report into nowhere and stay "not enrolled" (ADR 0463).
      const isNode = db.select({ uid: nodes.uid }).from(nodes).where(eq(nodes.uid, client.clientId)).get();
      if (!isNode)
        throw new OutpostError(
          'mmi/not-a-node',
          `${client.spiffeId} is accepted here but is not a node, so it has no capabilities to report; enroll it as a node (edgectl co add node <name> --site <site> --csr FILE, or an enrollment token)`,
          { status: 403 },
        );
      const slash = deviceId.lastIndexOf('/');
      const result = store.tx(() => {
        if (slash > 0) {
          const parent = deviceId.slice(0, slash);
          const p = db
            .select({ d: loDevices.deviceId })
            .from(loDevices)
            .where(and(eq(loDevices.clientId, client.clientId), eq(loDevices.deviceId, parent)))
            .get();
          if (!p) {
            throw new OutpostError(
              'margo/gateway-not-found',
              `the gateway "${parent}" has not reported its capabilities yet; send the parent before "${deviceId}"`,
              {
                status: 404,
              },
            );
          }
        }
        const existing = db
          .select({ d: loDevices.deviceId })
          .from(loDevices)
          .where(and(eq(loDevices.clientId, client.clientId), eq(loDevices.deviceId, deviceId)))
          .get();
        db.insert(loDevices)
          .values({ clientId: client.clientId, deviceId, capabilities, updatedAt: now })
          .onConflictDoUpdate({
            target: [loDevices.clientId, loDevices.deviceId],
            set: { capabilities, updatedAt: now },
          })
          .run();
        // The CO's view of the fleet (same database in the all-in-one shape).
        const node = db.select({ uid: nodes.uid }).from(nodes).where(eq(nodes.uid, client.clientId)).get();
        if (node) {
          if (slash > 0) {
            db.insert(nodeDevices)
              .values({ nodeUid: node.uid, deviceId, capabilities, updatedAt: now })
              .onConflictDoUpdate({
                target: [nodeDevices.nodeUid, nodeDevices.deviceId],
                set: { capabilities, updatedAt: now },
              })
              .run();
            upsertChildNode(node.uid, deviceId, capabilities, now);
          } else {
            db.update(nodes)
              .set({ capabilities, capabilitiesAt: now, lastSeenAt: now })
              .where(eq(nodes.uid, node.uid))
              .run();
            deps.onInventoryChanged?.(node.uid);
          }
        }
        return existing ? ('updated' as const) : ('created' as const);
      });
      const t = splitClientId(client.clientId)?.tenantId;
      if (t) deps.onNodeChanged?.(t);
      return result;
    },
    deleteCapabilities(client, deviceId) {
      store.tx(() => {
        const existing = db
          .select({ d: loDevices.deviceId })
          .from(loDevices)
          .where(and(eq(loDevices.clientId, client.clientId), eq(loDevices.deviceId, deviceId)))
          .get();
        if (!existing)
          throw new OutpostError(
            'margo/device-not-found',
            `no device "${deviceId}" is registered for this client`,
            { status: 404 },
          );
        // The device and its descendants, compared exactly: LIKE would treat `_` as a wildcard and ignore
        // case, and so reach other gateways' children.
        const prefix = `${deviceId}/`;
        store.sqlite
          .prepare(
            'DELETE FROM lo_devices WHERE client_id = ? AND (device_id = ? OR substr(device_id, 1, ?) = ?)',
          )
          .run(client.clientId, deviceId, prefix.length, prefix);
        store.sqlite
          .prepare(
            'DELETE FROM node_devices WHERE node_uid = ? AND (device_id = ? OR substr(device_id, 1, ?) = ?)',
          )
          .run(client.clientId, deviceId, prefix.length, prefix);
        if (!deviceId.includes('/')) {
          db.update(nodes)
            .set({ capabilities: null, capabilitiesAt: null })
            .where(eq(nodes.uid, client.clientId))
            .run();
        }
      });
      const t = splitClientId(client.clientId)?.tenantId;
      if (t) deps.onNodeChanged?.(t);
    },
    postStatus(client, status, timing) {
      // The digest served at that version; a row found also proves the deployment was in this client's
      // manifests (one query instead of two for the usual report).
      const digest =
        status.adoptedManifestVersion > 0
          ? manifests.digestAt(client.clientId, status.deploymentId, status.adoptedManifestVersion)
          : undefined;
      if (digest === undefined && !manifests.everServed(client.clientId, status.deploymentId)) {
        throw new OutpostError(
          'margo/deployment-not-found',
          `deployment ${status.deploymentId} was never in this client's state manifest`,
          { status: 404 },
        );
      }
      // The version alone (not the manifest's bytes): thousands of reports arrive after a deploy.
      const currentVersion = manifests.currentVersion(client.clientId);
      if (currentVersion !== undefined && status.adoptedManifestVersion > currentVersion) {
        throw new OutpostError(
          'margo/semantic-error',
          `adoptedManifestVersion ${status.adoptedManifestVersion} was never served (the newest is ${currentVersion})`,
          {
            status: 422,
            errors: [
              {
                field: 'adoptedManifestVersion',
                message: `greater than the newest manifestVersion ${currentVersion}`,
              },
            ],
          },
        );
      }
      const receivedAt = clock.now();
      // A report on behalf of a child device (`<host>/<mcu>`) is that child node's (ADR 0443).
      const slash = status.deviceId?.indexOf('/') ?? -1;
      const child = slash > 0 ? `${client.clientId}/${status.deviceId!.slice(slash + 1)}` : undefined;
      const reporter =
        child && db.select({ uid: nodes.uid }).from(nodes).where(eq(nodes.uid, child)).get()
          ? child
          : client.clientId;
      return statuses.record({
        clientId: reporter,
        status,
        digest,
        receivedAt,
        eventAt: reportEventTime(receivedAt, timing?.eventAt, timing?.sentAt),
      });
    },
    async enroll(req: EnrollRequest): Promise<EnrollResponse> {
      const now = clock.now();
      const deny = (why: string) => new OutpostError('margo/not-authorized', why, { status: 403 });
      /** A refused enrollment with a known token is audited in its tenant (an unknown token has none). */
      const refused = (row: typeof enrollTokens.$inferSelect, err: OutpostError): OutpostError => {
        try {
          deps.audit?.record({
            tenantId: row.tenantId,
            actor: `enroll-token:${row.id}`,
            transport: 'mmi',
            source: 'agent',
            action: 'identity.enroll',
            target: `node/${row.nodeName}`,
            input: { siteId: row.siteId, node: row.nodeName, hostname: req.hostname ?? null },
            result: 'error',
            errorCode: err.code,
            errorMessage: err.message,
            durationMs: clock.now() - now,
          });
        } catch (auditErr) {
          log.error({ err: auditErr }, 'audit row of a refused enrollment not written');
        }
        return err;
      };
      let parsed;
      try {
        parsed = parseEnrollmentToken(req.token);
      } catch (err) {
        throw deny(`the enrollment token is not valid: ${(err as Error).message}`);
      }
      const hash = hashEnrollmentSecret(parsed.secret);
      const row = db.select().from(enrollTokens).where(eq(enrollTokens.secretHash, hash)).get();
      if (!row || !enrollmentSecretMatches(parsed.secret, row.secretHash))
        throw deny('the enrollment token is not known to this site');
      // A revoked node's tokens die with it (revocation marks them used): say revoked, not used.
      const revoked = db
        .select({ state: nodes.state })
        .from(nodes)
        .where(eq(nodes.uid, `${row.tenantId}.${row.nodeName}`))
        .get();
      if (revoked?.state === 'revoked')
        throw refused(
          row,
          deny(
            `node "${row.nodeName}" was revoked; its enrollment tokens no longer work (remove the node and add it again to re-enroll)`,
          ),
        );
      if (row.usedAt) throw refused(row, deny('the enrollment token was already used; create a new one'));
      if (now > row.expiresAt)
        throw refused(
          row,
          deny(`the enrollment token expired at ${new Date(row.expiresAt).toISOString()}; create a new one`),
        );
      if (
        row.siteId !== parsed.siteId ||
        row.nodeName !== parsed.nodeName ||
        row.tenantId !== parsed.tenantId
      ) {
        throw refused(row, deny('the enrollment token does not match its record'));
      }
      const ca = identity.requireCa();
      try {
        await parseCsr(req.csrPem);
      } catch (err) {
        throw new OutpostError(
          'margo/invalid-request',
          `the CSR is not acceptable: ${(err as Error).message}`,
          { status: 400 },
        );
      }
      const clientId = `${row.tenantId}.${row.nodeName}`;
      const spiffeId = clientSpiffeId(identity.trustDomain, identity.wfmId, clientId);
      const svid = await issueSvid({
        ca,
        csrPem: req.csrPem,
        spiffeId,
        now,
        ttlSeconds: deps.svidTtlSeconds,
      });
      store.tx(() => {
        // The token is consumed in the same transaction that records the issued SVID (a token works once).
        const used = store.sqlite
          .prepare('UPDATE enroll_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL')
          .run(now, row.id);
        if (used.changes !== 1) throw deny('the enrollment token was already used; create a new one');
        db.insert(svids)
          .values({
            serialHex: svid.serialHex,
            clientId,
            spiffeId,
            issuedAt: now,
            notAfter: svid.notAfter,
            revokedAt: null,
          })
          .run();
        const node = db.select().from(nodes).where(eq(nodes.uid, clientId)).get();
        if (node) {
          db.update(nodes)
            .set({ state: 'enrolled', enrolledAt: now, revokedAt: null })
            .where(eq(nodes.uid, clientId))
            .run();
        } else {
          db.insert(nodes)
            .values({
              uid: clientId,
              tenantId: row.tenantId,
              name: row.nodeName,
              siteId: row.siteId,
              labels: {},
              state: 'enrolled',
              enrolledAt: now,
              createdAt: now,
            })
            .run();
        }
        deps.onInventoryChanged?.(clientId);
        // Audited in the transaction that enrolls it (ADR 0480): never enrolled without its row.
        deps.audit?.record({
          tenantId: row.tenantId,
          actor: spiffeId,
          transport: 'mmi',
          source: 'agent',
          action: 'identity.enroll',
          target: `node/${row.nodeName}`,
          input: {
            siteId: row.siteId,
            node: row.nodeName,
            hostname: req.hostname ?? null,
            enrollToken: row.id,
            serialHex: svid.serialHex,
            notAfter: svid.notAfter,
          },
          result: 'ok',
          durationMs: clock.now() - now,
        });
      });
      log.info({ clientId, spiffeId, serial: svid.serialHex, hostname: req.hostname }, 'node enrolled');
      deps.onNodeChanged?.(row.tenantId);
      return {
        clientId,
        spiffeId,
        certPem: svid.certPem,
        anchorsPem: [ca.certPem],
        wfmSpiffeId: identity.wfmSpiffeId,
        mmiUrl: deps.mmiUrl() ?? '',
        ...(deps.registryUrl?.() ? { registryUrl: deps.registryUrl()! } : {}),
        notAfter: svid.notAfter,
        nats: await deps.natsCredentials?.(clientId, row.siteId).catch((err: unknown) => {
          log.warn(
            { err: (err as Error).message, clientId },
            'no messaging credentials for the new node; it will poll only',
          );
          return undefined;
        }),
      };
    },
    async renewSvid(client: MmiClient, req: RenewRequest): Promise<RenewResponse> {
      const started = clock.now();
      const minAgeMs = (deps.renewMinAgeSeconds ?? renewMinAgeSeconds(deps.svidTtlSeconds)) * 1000;
      const tenantId = splitClientId(client.clientId)?.tenantId ?? null;
      const audit = (
        result: 'ok' | 'error',
        extra: { errorCode?: string; errorMessage?: string; input?: Record<string, unknown> },
      ) =>
        deps.audit?.record({
          tenantId,
          actor: client.spiffeId,
          transport: 'mmi',
          source: 'agent',
          action: 'identity.renewSvid',
          target: client.clientId,
          result,
          durationMs: clock.now() - started,
          ...extra,
          input: { presentedSerial: client.serialHex, ...extra.input },
        });
      const deny = (why: string) => new OutpostError('margo/not-authorized', why, { status: 403 });
      /** Refuses while the client's newest SVID is younger than the minimum age (checked again in the write). */
      const tooSoon = (now: number) => {
        const newest = db
          .select({ issuedAt: svids.issuedAt, serialHex: svids.serialHex })
          .from(svids)
          .where(eq(svids.clientId, client.clientId))
          .orderBy(desc(svids.issuedAt))
          .limit(1)
          .get();
        if (!newest || now - newest.issuedAt >= minAgeMs) return undefined;
        const retryAfterSeconds = Math.ceil((newest.issuedAt + minAgeMs - now) / 1000);
        return new OutpostError(
          'rate-limited',
          `${client.clientId} got a new SVID (${newest.serialHex}) ${Math.round((now - newest.issuedAt) / 1000)} s ago; renewal is allowed once the newest SVID is ${minAgeMs / 1000} s old: retry after ${retryAfterSeconds} s`,
          { data: { retryAfterSeconds } },
        );
      };
      try {
        // The presented certificate must be one this LO issued to this client and did not revoke (the
        // accepted-client policy alone lets a client talk, not mint certificates).
        const presented = db.select().from(svids).where(eq(svids.serialHex, client.serialHex)).get();
        if (!presented || presented.spiffeId !== client.spiffeId || presented.clientId !== client.clientId)
          throw deny(
            `the certificate ${client.serialHex} was not issued by this site to ${client.spiffeId}; only SVIDs this site issued can be renewed (enroll the node)`,
          );
        if (presented.revokedAt) throw deny(`the certificate ${client.serialHex} was revoked`);
        const node = db.select().from(nodes).where(eq(nodes.uid, client.clientId)).get();
        if (node?.state === 'revoked') throw deny(`node ${client.clientId} was revoked`);
        const early = tooSoon(clock.now());
        if (early) throw early;
        try {
          await parseRenewalCsr(req.csrPem, {
            spiffeId: client.spiffeId,
            currentKeySpki: req.presentedKeySpki,
          });
        } catch (err) {
          throw new OutpostError(
            'margo/invalid-request',
            `the CSR is not acceptable: ${(err as Error).message}`,
            { status: 400 },
          );
        }
        const ca = identity.requireCa();
        const now = clock.now();
        const svid = await issueSvid({
          ca,
          csrPem: req.csrPem,
          spiffeId: client.spiffeId,
          now,
          ttlSeconds: deps.svidTtlSeconds,
        });
        store.tx(() => {
          // Again inside the write: two renewals racing on one node issue one SVID.
          const raced = tooSoon(now);
          if (raced) throw raced;
          const still = db.select().from(svids).where(eq(svids.serialHex, client.serialHex)).get();
          if (still?.revokedAt) throw deny(`the certificate ${client.serialHex} was revoked`);
          db.insert(svids)
            .values({
              serialHex: svid.serialHex,
              clientId: client.clientId,
              spiffeId: client.spiffeId,
              issuedAt: now,
              notAfter: svid.notAfter,
              revokedAt: null,
            })
            .run();
          audit('ok', { input: { serialHex: svid.serialHex, notAfter: svid.notAfter } });
        });
        log.info(
          {
            clientId: client.clientId,
            spiffeId: client.spiffeId,
            previousSerial: client.serialHex,
            serial: svid.serialHex,
            notAfter: new Date(svid.notAfter).toISOString(),
          },
          'node SVID renewed',
        );
        if (tenantId) deps.onNodeChanged?.(tenantId);
        return {
          spiffeId: client.spiffeId,
          certPem: svid.certPem,
          serialHex: svid.serialHex,
          notAfter: svid.notAfter,
          anchorsPem: [ca.certPem],
        };
      } catch (err) {
        const e = err instanceof OutpostError ? err : undefined;
        audit('error', {
          errorCode: e?.code ?? 'internal',
          errorMessage: e?.message ?? 'renewal failed',
        });
        throw err;
      }
    },
    trustBundle() {
      const ca = identity.requireCa();
      const sequence = Math.floor(Date.parse(new crypto.X509Certificate(ca.certPem).validFrom) / 1000);
      return {
        json: buildTrustBundle({ anchorsPem: [ca.certPem], sequence, refreshHintSeconds: 3600 }),
        sequence,
      };
    },
  };
  return backend;
}
