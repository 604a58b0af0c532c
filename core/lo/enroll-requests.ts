import crypto from 'node:crypto';
import { and, desc, eq, gt, lt } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { AuditLog } from '../audit.js';
import type { EventHub } from '../events.js';
import { enrollRequests } from '../store/schema/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import { clientSpiffeId, spkiFingerprint } from '../../lib/identity/index.js';
import { issueSvid } from '../ca/index.js';
import { parseCsr } from '../../lib/x509/index.js';
import type { EnrollRequestView } from '../../lib/contract/index.js';
import type { EnrollResponse } from '../../lib/mmi/index.js';
import { compareCode, shortFingerprint } from '../../lib/discovery/index.js';
import type { SiteIdentity } from './identity-store.js';
import type { NodeEnrollment } from './node-enrollment.js';

/**
 * Enrollment by approval (ADR 0462). A node without a token files its CSR (`POST
 * /api/v1/outpost/enroll-requests`, no client certificate, over TLS it pinned by the advertised CA) and gets
 * an id and a poll secret; an operator sees the request (hostname, address, key fingerprint, hardware, the
 * compare code) and approves it for a node name and site, or rejects it; the node polls with its secret and
 * receives its SVID, or learns of the rejection or the expiry. Every step is audited.
 */

type Row = typeof enrollRequests.$inferSelect;

export interface FileRequestInput {
  csrPem: string;
  hostname?: string | undefined;
  name?: string | undefined;
  hardware?: Record<string, unknown> | undefined;
  version?: string | undefined;
  /** The remote address of the request. */
  address: string;
}

export interface FiledRequest {
  id: string;
  pollSecret: string;
  code: string;
  keyFingerprint: string;
  expiresAt: number;
  pollAfterSeconds: number;
}

export type PollResult =
  | { state: 'pending'; expiresAt: number; retryAfterSeconds: number }
  | { state: 'approved'; response: EnrollResponse };

export interface EnrollRequests {
  file(input: FileRequestInput): Promise<FiledRequest>;
  poll(id: string, secret: string): Promise<PollResult>;
  list(tenantId: string, all: boolean): EnrollRequestView[];
  get(tenantId: string, id: string): EnrollRequestView;
  approve(
    tenantId: string,
    actor: string,
    input: { id: string; node: string; siteId: string; modelId?: string; labels?: Record<string, string> },
  ): Promise<EnrollRequestView>;
  reject(tenantId: string, actor: string, input: { id: string; reason?: string }): EnrollRequestView;
  /** Marks pending requests past their expiry as expired (audited); returns how many. */
  sweep(): number;
  /** Pending requests with this key fingerprint (the console's "found on the network" list links them). */
  pendingByKey(): Map<string, string>;
}

export interface EnrollRequestsDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  audit: AuditLog;
  events: EventHub;
  identity: SiteIdentity;
  enrollment: NodeEnrollment;
  /** The tenant requests are filed under (the LO's default tenant). */
  tenantId: string;
  ttlMs: number;
  perAddressPerHour: number;
  svidTtlSeconds: number;
  mmiUrl: () => string | null;
  /** The site registry's URL the node pulls through (ADR 0422), as in a token enrollment's answer. */
  registryUrl?: () => string | null;
  natsCredentials?: (clientId: string, siteId: string) => Promise<EnrollResponse['nats']>;
  /** Called inside the approval transaction (remote LO: tell the CO about the node). */
  onInventoryChanged?: (clientId: string) => void;
  /** How often a waiting node should poll. */
  pollAfterSeconds?: number;
}

/** Most pending requests kept at once, whatever their sources (bounds the table against a flood). */
export const MAX_PENDING = 500;

const hashSecret = (secret: string) => `sha256:${crypto.createHash('sha256').update(secret).digest('hex')}`;

export function createEnrollRequests(deps: EnrollRequestsDeps): EnrollRequests {
  const { store, clock, identity } = deps;
  const db = store.db;
  const log = deps.logger.child({ component: 'enroll-requests' });
  const pollAfter = deps.pollAfterSeconds ?? 2;

  const audit = (
    action: string,
    actor: string,
    target: string,
    result: 'ok' | 'error',
    extra: { input?: unknown; errorCode?: string; errorMessage?: string } = {},
  ) =>
    deps.audit.record({
      tenantId: deps.tenantId,
      actor,
      transport: 'mmi',
      // Filed and picked up by a device over the Margo interface; an expiry is the server's own ('api').
      source: action === 'enrollRequests.expire' ? 'api' : 'agent',
      action,
      target: `enroll-request/${target}`,
      result,
      ...extra,
    });

  const changed = (row: Pick<Row, 'id' | 'state' | 'tenantId'>) => {
    deps.events.publish('enrollRequest', { id: row.id, state: row.state }, row.tenantId);
    deps.events.changed(row.tenantId, 'enroll-requests', 'discovery');
  };

  const nodeName = (row: Row) => (row.nodeUid ? row.nodeUid.slice(row.tenantId.length + 1) : null);

  const view = (row: Row): EnrollRequestView => ({
    id: row.id,
    state: row.state,
    requestedName: row.requestedName,
    hostname: row.hostname,
    address: row.address,
    keyFingerprint: row.keyFingerprint,
    shortFingerprint: shortFingerprint(row.keyFingerprint),
    code: row.code,
    hardware: row.hardware ?? null,
    agentVersion: row.agentVersion,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    decidedAt: row.decidedAt,
    decidedBy: row.decidedBy,
    reason: row.reason,
    nodeName: nodeName(row),
    siteId: row.siteId,
    deliveredAt: row.deliveredAt,
  });

  /** Expires one pending row whose time is up (inside or outside a transaction). */
  const expireIfDue = (row: Row, now: number): Row => {
    if (row.state !== 'pending' || now <= row.expiresAt) return row;
    const r = store.sqlite
      .prepare(
        `UPDATE enroll_requests SET state = 'expired', decided_at = ? WHERE id = ? AND state = 'pending'`,
      )
      .run(now, row.id);
    if (r.changes === 1) {
      audit('enrollRequests.expire', 'system', row.id, 'ok', { input: { expiresAt: row.expiresAt } });
      log.info({ id: row.id, hostname: row.hostname }, 'enrollment request expired');
      changed({ ...row, state: 'expired' });
    }
    return { ...row, state: 'expired', decidedAt: now };
  };

  const rowOf = (tenantId: string, id: string): Row => {
    const row = db
      .select()
      .from(enrollRequests)
      .where(and(eq(enrollRequests.id, id), eq(enrollRequests.tenantId, tenantId)))
      .get();
    if (!row) throw errors.notFound('enrollment request', id);
    return expireIfDue(row, clock.now());
  };

  return {
    async file(input) {
      const now = clock.now();
      const actor = `node@${input.address}`;
      const refuse = (e: OutpostError) => {
        audit('enrollRequests.file', actor, '-', 'error', {
          errorCode: e.code,
          errorMessage: e.message,
          input: { hostname: input.hostname, name: input.name },
        });
        return e;
      };
      const hourAgo = now - 3600_000;
      const recent = store.sqlite
        .prepare(
          'SELECT count(*) AS n, min(created_at) AS first FROM enroll_requests WHERE address = ? AND created_at > ?',
        )
        .get(input.address, hourAgo) as { n: number; first: number | null };
      if (recent.n >= deps.perAddressPerHour) {
        const retryAfterSeconds = Math.max(1, Math.ceil(((recent.first ?? now) + 3600_000 - now) / 1000));
        throw refuse(
          new OutpostError(
            'rate-limited',
            `${recent.n} enrollment requests from ${input.address} in the last hour (at most ${deps.perAddressPerHour}); retry after ${retryAfterSeconds} s`,
            { data: { retryAfterSeconds } },
          ),
        );
      }
      const pending = store.sqlite
        .prepare(`SELECT count(*) AS n FROM enroll_requests WHERE state = 'pending' AND expires_at >= ?`)
        .get(now) as { n: number };
      if (pending.n >= MAX_PENDING) {
        throw refuse(
          new OutpostError('rate-limited', `${pending.n} enrollment requests are waiting; try again later`, {
            data: { retryAfterSeconds: 60 },
          }),
        );
      }
      let keyFingerprint: string;
      try {
        keyFingerprint = spkiFingerprint((await parseCsr(input.csrPem)).publicKey);
      } catch (err) {
        throw refuse(
          new OutpostError('margo/invalid-request', `the CSR is not acceptable: ${(err as Error).message}`, {
            status: 400,
          }),
        );
      }
      const ca = identity.requireCa();
      const id = `req-${crypto.randomBytes(5).toString('hex')}`;
      const pollSecret = crypto.randomBytes(32).toString('base64url');
      const code = compareCode(ca.fingerprint, keyFingerprint);
      const row: Row = {
        id,
        tenantId: deps.tenantId,
        pollHash: hashSecret(pollSecret),
        csr: input.csrPem,
        keyFingerprint,
        code,
        requestedName: input.name ?? null,
        hostname: input.hostname ?? null,
        address: input.address,
        hardware: input.hardware ?? null,
        agentVersion: input.version ?? null,
        state: 'pending',
        createdAt: now,
        expiresAt: now + deps.ttlMs,
        decidedAt: null,
        decidedBy: null,
        reason: null,
        nodeUid: null,
        siteId: null,
        certPem: null,
        deliveredAt: null,
      };
      store.tx(() => {
        db.insert(enrollRequests).values(row).run();
        audit('enrollRequests.file', actor, id, 'ok', {
          input: { hostname: row.hostname, name: row.requestedName, keyFingerprint, code },
        });
      });
      log.info(
        { id, hostname: row.hostname, address: row.address, keyFingerprint, code },
        'enrollment request filed; waiting for an operator',
      );
      changed(row);
      return { id, pollSecret, code, keyFingerprint, expiresAt: row.expiresAt, pollAfterSeconds: pollAfter };
    },

    async poll(id, secret) {
      const now = clock.now();
      const found = db.select().from(enrollRequests).where(eq(enrollRequests.id, id)).get();
      const given = Buffer.from(hashSecret(secret));
      const stored = Buffer.from(found?.pollHash ?? '');
      // One answer for "no such request" and "not your request": the id alone reveals nothing.
      if (!found || stored.length !== given.length || !crypto.timingSafeEqual(given, stored))
        throw new OutpostError('margo/not-authorized', `no enrollment request ${id} for this secret`, {
          status: 403,
        });
      const row = expireIfDue(found, now);
      if (row.state === 'pending')
        return { state: 'pending', expiresAt: row.expiresAt, retryAfterSeconds: pollAfter };
      if (row.state === 'rejected')
        throw new OutpostError(
          'enroll/request-rejected',
          `the operator rejected enrollment request ${id}${row.reason ? `: ${row.reason}` : ''}`,
          { status: 403 },
        );
      if (row.state === 'expired')
        throw new OutpostError(
          'enroll/request-expired',
          `enrollment request ${id} expired at ${new Date(row.expiresAt).toISOString()} before an operator approved it`,
          { status: 410 },
        );
      const ca = identity.requireCa();
      const clientId = row.nodeUid!;
      const name = nodeName(row)!;
      const response: EnrollResponse = {
        clientId,
        spiffeId: clientSpiffeId(identity.trustDomain, identity.wfmId, clientId),
        certPem: row.certPem!,
        anchorsPem: [ca.certPem],
        wfmSpiffeId: identity.wfmSpiffeId,
        mmiUrl: deps.mmiUrl() ?? '',
        ...(deps.registryUrl?.() ? { registryUrl: deps.registryUrl()! } : {}),
        notAfter: Date.parse(new crypto.X509Certificate(row.certPem!).validTo),
        siteId: row.siteId!,
        nodeName: name,
        tenantId: row.tenantId,
        nats: await deps.natsCredentials?.(clientId, row.siteId!).catch((err: unknown) => {
          log.warn(
            { err: (err as Error).message, clientId },
            'no messaging credentials for the node; it will poll only',
          );
          return undefined;
        }),
      };
      if (row.deliveredAt === null) {
        store.tx(() => {
          db.update(enrollRequests).set({ deliveredAt: now }).where(eq(enrollRequests.id, id)).run();
          audit('enrollRequests.deliver', `node@${row.address}`, id, 'ok', { input: { node: clientId } });
        });
        log.info({ id, clientId }, 'approved node picked up its SVID');
        changed(row);
      }
      return { state: 'approved', response };
    },

    list(tenantId, all) {
      const now = clock.now();
      const rows = db
        .select()
        .from(enrollRequests)
        .where(
          all
            ? eq(enrollRequests.tenantId, tenantId)
            : and(eq(enrollRequests.tenantId, tenantId), eq(enrollRequests.state, 'pending')),
        )
        .orderBy(desc(enrollRequests.createdAt))
        .limit(1000)
        .all()
        .map((r) => expireIfDue(r, now));
      return rows.filter((r) => all || r.state === 'pending').map(view);
    },

    get(tenantId, id) {
      return view(rowOf(tenantId, id));
    },

    async approve(tenantId, actor, input) {
      const row = rowOf(tenantId, input.id);
      if (row.state !== 'pending')
        throw new OutpostError('conflict', `enrollment request ${row.id} is ${row.state}, not pending`);
      const node = deps.enrollment.prepare(tenantId, input.node, input.siteId, input.modelId);
      const ca = identity.requireCa();
      const now = clock.now();
      const spiffeId = clientSpiffeId(identity.trustDomain, identity.wfmId, node.uid);
      const svid = await issueSvid({ ca, csrPem: row.csr, spiffeId, now, ttlSeconds: deps.svidTtlSeconds });
      store.tx(() => {
        const r = store.sqlite
          .prepare(
            `UPDATE enroll_requests SET state = 'approved', decided_at = ?, decided_by = ?, node_uid = ?, site_id = ?, cert_pem = ? WHERE id = ? AND state = 'pending' AND expires_at >= ?`,
          )
          .run(now, actor, node.uid, node.siteId, svid.certPem, row.id, now);
        if (r.changes !== 1)
          throw new OutpostError('conflict', `enrollment request ${row.id} was decided or expired meanwhile`);
        deps.enrollment.record(node, { serialHex: svid.serialHex, spiffeId, notAfter: svid.notAfter }, now, {
          modelId: input.modelId,
          labels: input.labels,
        });
        deps.onInventoryChanged?.(node.uid);
      });
      log.info(
        { id: row.id, node: node.uid, serial: svid.serialHex, by: actor },
        'enrollment request approved',
      );
      changed({ ...row, state: 'approved' });
      deps.events.changed(tenantId, 'nodes', 'sites');
      return view(rowOf(tenantId, row.id));
    },

    reject(tenantId, actor, input) {
      const row = rowOf(tenantId, input.id);
      if (row.state !== 'pending')
        throw new OutpostError('conflict', `enrollment request ${row.id} is ${row.state}, not pending`);
      const now = clock.now();
      const r = store.sqlite
        .prepare(
          `UPDATE enroll_requests SET state = 'rejected', decided_at = ?, decided_by = ?, reason = ? WHERE id = ? AND state = 'pending'`,
        )
        .run(now, actor, input.reason ?? null, row.id);
      if (r.changes !== 1)
        throw new OutpostError('conflict', `enrollment request ${row.id} was decided meanwhile`);
      log.info({ id: row.id, by: actor }, 'enrollment request rejected');
      changed({ ...row, state: 'rejected' });
      return view(rowOf(tenantId, row.id));
    },

    sweep() {
      const now = clock.now();
      const due = db
        .select()
        .from(enrollRequests)
        .where(and(eq(enrollRequests.state, 'pending'), lt(enrollRequests.expiresAt, now)))
        .all();
      for (const r of due) expireIfDue(r, now);
      // Decided requests are kept a week for the operator's view (the audit log keeps the history).
      store.sqlite
        .prepare(`DELETE FROM enroll_requests WHERE state != 'pending' AND decided_at < ?`)
        .run(now - 7 * 86_400_000);
      return due.length;
    },

    pendingByKey() {
      const now = clock.now();
      const out = new Map<string, string>();
      for (const r of db
        .select({ id: enrollRequests.id, fp: enrollRequests.keyFingerprint })
        .from(enrollRequests)
        .where(and(eq(enrollRequests.state, 'pending'), gt(enrollRequests.expiresAt, now)))
        .all())
        out.set(r.fp, r.id);
      return out;
    },
  };
}
