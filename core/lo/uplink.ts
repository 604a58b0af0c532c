import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { Messaging } from '../messaging/module.js';
import type { DeploymentStatus, DeviceCapabilities } from '../../lib/model/index.js';

/** A status a node reported over the MMI of a remote LO, forwarded to the CO. */
export interface ForwardedStatus {
  kind: 'outpost.forwarded-status';
  status: DeploymentStatus;
  /** Digest of the YAML the report is about (resolved by the LO). */
  digest: string | null;
  /** When the LO received it (its clock). */
  receivedAt: number;
  /** When the node made it, on the LO's clock (ADR 0169); absent from older LOs, null when unknown. */
  eventAt?: number | null;
}

/** A node of a remote LO changed: enrolled, reported capabilities, was revoked. */
export interface NodeInventory {
  kind: 'outpost.node';
  nodeName: string;
  siteId: string;
  state: 'registered' | 'enrolled' | 'revoked';
  capabilities: DeviceCapabilities | null;
  capabilitiesAt: number | null;
  at: number;
}

export function isForwardedStatus(body: unknown): body is ForwardedStatus {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as { kind?: unknown }).kind === 'outpost.forwarded-status'
  );
}
export function isNodeInventory(body: unknown): body is NodeInventory {
  return typeof body === 'object' && body !== null && (body as { kind?: unknown }).kind === 'outpost.node';
}

/**
 * Store and forward from a remote LO (role lo) to the CO: what the CO must learn (status reports, node
 * inventory) is committed to `lo_outbox` first, then forwarded in order over the bus; the last forwarded
 * sequence is kept in `meta`, so a restart or a cut link resumes where it stopped and nothing is lost.
 * The bus (JetStream on the LO's server, sourced by the CO) carries it on, deduplicated by sequence.
 */
export function createUplink(deps: {
  store: Store;
  clock: Clock;
  logger: Logger;
  messaging: Messaging;
  siteId: string;
  batch?: number;
}) {
  const { store, messaging } = deps;
  const log = deps.logger.child({ component: 'lo-uplink' });
  const KEY = 'uplink.lastSeq';
  const getLast = () =>
    Number(
      (store.sqlite.prepare('SELECT value FROM meta WHERE key = ?').get(KEY) as { value: string } | undefined)
        ?.value ?? 0,
    );
  const setLast = (seq: number) =>
    store.sqlite
      .prepare(
        `INSERT INTO meta (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(KEY, String(seq), deps.clock.now());
  const pending = store.sqlite.prepare(
    'SELECT seq, node_uid AS nodeUid, kind, body FROM lo_outbox WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const insert = store.sqlite.prepare(
    'INSERT INTO lo_outbox (node_uid, kind, body, created_at) VALUES (?, ?, ?, ?)',
  );
  let running: Promise<number> | undefined;

  async function flush(): Promise<number> {
    let sent = 0;
    for (;;) {
      const rows = pending.all(getLast(), deps.batch ?? 200) as {
        seq: number;
        nodeUid: string;
        kind: 'status' | 'events';
        body: string;
      }[];
      if (rows.length === 0) return sent;
      for (const r of rows) {
        await messaging.forwardNodeReport(deps.siteId, r.nodeUid, r.kind, JSON.parse(r.body), r.seq);
        setLast(r.seq);
        sent++;
      }
    }
  }

  return {
    /** Queues a message (call inside the transaction that records what it reports). */
    enqueue(nodeUid: string, kind: 'status' | 'events', body: ForwardedStatus | NodeInventory): void {
      insert.run(nodeUid, kind, JSON.stringify(body), deps.clock.now());
    },
    /** Forwards everything not yet forwarded; concurrent calls share one run; errors leave the rest queued. */
    flush(): Promise<number> {
      running ??= flush()
        .catch((err: unknown) => {
          log.debug({ err: (err as Error).message }, 'uplink paused (bus unavailable); messages stay queued');
          return 0;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    backlog(): number {
      return (
        store.sqlite.prepare('SELECT count(*) AS n FROM lo_outbox WHERE seq > ?').get(getLast()) as {
          n: number;
        }
      ).n;
    },
  };
}

export type Uplink = ReturnType<typeof createUplink>;
