import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../lib/log/index.js';
import type { DeploymentStatus } from '../../lib/model/index.js';
import { ensureDir, fsyncDir, removeStaleTemps, writeFileDurable } from './durable.js';

/**
 * Status reports on disk until the LO has them (ADR 0263): one file per report named by a strictly
 * increasing sequence number (`000000000042.json`), written durably before the send is attempted, sent
 * strictly in order, deleted after a 2xx. What the LO says is invalid is logged and dropped so it cannot
 * block the queue; anything else (LO away, 5xx, 429, not authorized) stops the flush and keeps the queue.
 */

export interface OutboxEntry {
  seq: number;
  /** When the report was made (epoch ms); not sent (the Margo body has no timestamp). */
  at: number;
  status: DeploymentStatus;
}

export type SendOutcome =
  /** Delivered: delete it. */
  | { kind: 'sent' }
  /** The LO refused this report for good (400/404/422...): log and delete it. */
  | { kind: 'drop'; reason: string }
  /** Try later (LO unreachable, 5xx, 429, 403): stop flushing, keep the queue. */
  | { kind: 'retry'; reason: string; retryAfterMs?: number };

export interface Outbox {
  readonly dir: string;
  /** Durably queues a report; returns its sequence number. */
  enqueue(status: DeploymentStatus, at: number): OutboxEntry;
  /** Entries in send order. */
  list(): OutboxEntry[];
  size(): number;
  /**
   * Sends queued reports in order until one must wait. Concurrent calls share one flush. Resolves with
   * what stopped it (undefined: the queue is empty).
   */
  flush(
    send: (e: OutboxEntry) => Promise<SendOutcome>,
  ): Promise<{ sent: number; dropped: number; stopped?: SendOutcome }>;
}

const NAME = /^(\d{12,})\.json$/;

export function createOutbox(opts: { dir: string; logger: Logger; maxReports: number }): Outbox {
  const { dir, logger } = opts;
  const log = logger.child({ component: 'agent-outbox' });
  ensureDir(dir);
  removeStaleTemps(dir);
  const seqs = (): number[] =>
    fs
      .readdirSync(dir)
      .map((n) => NAME.exec(n)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  let last = seqs().at(-1) ?? 0;
  let flushing: Promise<{ sent: number; dropped: number; stopped?: SendOutcome }> | undefined;
  const file = (seq: number) => path.join(dir, `${String(seq).padStart(12, '0')}.json`);

  const read = (seq: number): OutboxEntry | undefined => {
    try {
      return JSON.parse(fs.readFileSync(file(seq), 'utf8')) as OutboxEntry;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      // A torn file cannot exist (durable writes); anything unreadable is dropped rather than blocking.
      log.warn({ seq, err: (e as Error).message }, 'unreadable status report dropped from the outbox');
      fs.rmSync(file(seq), { force: true });
      return undefined;
    }
  };

  return {
    dir,
    enqueue(status, at) {
      const entry: OutboxEntry = { seq: ++last, at, status };
      writeFileDurable(file(entry.seq), JSON.stringify(entry), 0o600);
      const all = seqs();
      if (all.length > opts.maxReports) {
        // Bounded: the oldest reports go first (their state was superseded by the newer ones).
        const excess = all.slice(0, all.length - opts.maxReports);
        for (const s of excess) fs.rmSync(file(s), { force: true });
        fsyncDir(dir);
        log.warn(
          { dropped: excess.length, max: opts.maxReports },
          'outbox full: oldest status reports dropped',
        );
      }
      return entry;
    },
    list() {
      return seqs()
        .map(read)
        .filter((e): e is OutboxEntry => e !== undefined);
    },
    size() {
      return seqs().length;
    },
    flush(send) {
      if (flushing) return flushing;
      const run = (async () => {
        let sent = 0;
        let dropped = 0;
        for (;;) {
          const next = seqs()[0];
          if (next === undefined) return { sent, dropped };
          const entry = read(next);
          if (!entry) continue;
          const outcome = await send(entry);
          if (outcome.kind === 'retry') return { sent, dropped, stopped: outcome };
          if (outcome.kind === 'drop') {
            dropped++;
            log.warn(
              {
                seq: entry.seq,
                deploymentId: entry.status.deploymentId,
                state: entry.status.status.state,
                reason: outcome.reason,
              },
              'status report refused by the LO; dropped',
            );
          } else sent++;
          fs.rmSync(file(next), { force: true });
          fsyncDir(dir);
        }
      })();
      flushing = run;
      const clear = () => {
        if (flushing === run) flushing = undefined;
      };
      run.then(clear, clear);
      return run;
    },
  };
}
