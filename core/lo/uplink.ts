import type { Store } from '../store/db.js';
import type { Logger } from '../logger.js';
import type { Messaging } from '../messaging/module.js';

/** The body an LO forwards upward for a status a node reported over the MMI. */
export interface ForwardedStatus {
  kind: 'outpost.forwarded-status';
  status: unknown;
  /** Digest of the YAML the report is about (resolved by the LO). */
  digest: string | null;
  receivedAt: number;
}

export function isForwardedStatus(body: unknown): body is ForwardedStatus {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as { kind?: unknown }).kind === 'outpost.forwarded-status'
  );
}

/**
 * Store and forward from a remote LO to the CO: status reports are first committed to the LO's own
 * `status_reports` (the outbox), then forwarded in order over the bus; the last forwarded sequence is
 * kept in `meta`, so a restart or a cut link resumes where it stopped and nothing is lost. The bus
 * (JetStream on the LO's server, sourced by the CO) does the rest, deduplicating by sequence.
 */
export function createStatusUplink(deps: {
  store: Store;
  logger: Logger;
  messaging: Messaging;
  siteId: string;
  batch?: number;
}) {
  const { store, messaging } = deps;
  const log = deps.logger.child({ component: 'lo-uplink' });
  const KEY = 'uplink.status.lastSeq';
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
      .run(KEY, String(seq), Date.now());
  const pending = store.sqlite.prepare(
    'SELECT seq, node_uid AS nodeUid, body, received_at AS receivedAt, digest FROM status_reports WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  let running: Promise<number> | undefined;

  async function flush(): Promise<number> {
    let sent = 0;
    for (;;) {
      const rows = pending.all(getLast(), deps.batch ?? 200) as {
        seq: number;
        nodeUid: string;
        body: string;
        receivedAt: number;
        digest: string | null;
      }[];
      if (rows.length === 0) return sent;
      for (const r of rows) {
        const body: ForwardedStatus = {
          kind: 'outpost.forwarded-status',
          status: JSON.parse(r.body),
          digest: r.digest,
          receivedAt: r.receivedAt,
        };
        await messaging.forwardNodeReport(deps.siteId, r.nodeUid, 'status', body, r.seq);
        setLast(r.seq);
        sent++;
      }
    }
  }

  return {
    /** Forwards everything not yet forwarded; concurrent calls share one run. Errors leave the rest queued. */
    flush(): Promise<number> {
      running ??= flush()
        .catch((err: unknown) => {
          log.debug(
            { err: (err as Error).message },
            'status uplink paused (bus unavailable); reports stay queued',
          );
          return 0;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    backlog(): number {
      return (
        store.sqlite.prepare('SELECT count(*) AS n FROM status_reports WHERE seq > ?').get(getLast()) as {
          n: number;
        }
      ).n;
    },
  };
}
