import type { Store } from '../store/db.js';
import type { StatusSink } from './mmi-backend.js';

type Report = Parameters<StatusSink['record']>[0];
type Outcome = ReturnType<StatusSink['record']>;

/** Most reports written in one transaction. */
export const STATUS_BATCH_MAX = 500;

/**
 * Group commit of status reports (ADR 0550): reports that arrive in the same turn of the event loop are
 * recorded in one transaction, each in its own savepoint (a report that fails is refused alone), and every
 * caller is answered only after that transaction committed, so a node is told "recorded" only for what
 * is on disk. Thousands of nodes reporting at once cost a few commits, not one per report.
 */
export function createStatusBatcher(o: { store: Store; sink: StatusSink }) {
  let queue: { report: Report; resolve(v: Outcome): void; reject(e: unknown): void }[] = [];
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    while (queue.length > 0) {
      const batch = queue.slice(0, STATUS_BATCH_MAX);
      queue = queue.slice(batch.length);
      const outcomes: ({ ok: true; v: Outcome } | { ok: false; e: unknown })[] = [];
      try {
        o.store.tx(() => {
          outcomes.length = 0;
          for (const b of batch) {
            try {
              outcomes.push({ ok: true, v: o.store.tx(() => o.sink.record(b.report)) });
            } catch (e) {
              outcomes.push({ ok: false, e });
            }
          }
        });
      } catch (e) {
        for (const b of batch) b.reject(e);
        continue;
      }
      batch.forEach((b, i) => {
        const r = outcomes[i]!;
        if (r.ok) b.resolve(r.v);
        else b.reject(r.e);
      });
    }
  };

  return {
    record(report: Report): Promise<Outcome> {
      return new Promise<Outcome>((resolve, reject) => {
        queue.push({ report, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    /** Records what is queued now (shutdown, tests). */
    flush,
  };
}
