import crypto from 'node:crypto';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import type { BundleJob } from '../../lib/contract/index.js';
import type { EventHub } from '../events.js';

/**
 * Long work (writing, verifying, importing a bundle) runs as a job: started by a command that returns at
 * once, its progress announced on the `job` event a few times a second (bytes, rate over the last
 * seconds, time left), cancellable, and kept a while after it ends so a console or the CLI can read its
 * result. Jobs live in memory: a restart ends them (an import's journal finishes it, ADR 0406).
 */
export interface JobControl {
  readonly id: string;
  readonly signal: AbortSignal;
  phase(phase: string, totalBytes?: number | null): void;
  progress(bytes: number, totalBytes?: number | null): void;
  /** After this, cancelling no longer stops the job (an import that started applying). */
  uncancellable(): void;
}

export type JobResult = NonNullable<BundleJob['result']>;
/** What a job's work returns; `throughput` defaults to the result's size over the whole job's time. */
export type JobOutcome = Omit<JobResult, 'seconds' | 'throughput'> & { throughput?: number | null };

export interface Jobs {
  start(
    kind: BundleJob['kind'],
    label: string,
    tenantId: string | null,
    run: (job: JobControl) => Promise<JobOutcome>,
    onEnd?: (job: BundleJob) => void,
  ): BundleJob;
  get(id: string): BundleJob;
  list(): BundleJob[];
  cancel(id: string): BundleJob;
  /** Waits for every running job (tests, shutdown). */
  settled(): Promise<void>;
  /** Cancels every running job (shutdown). */
  cancelAll(): void;
}

interface Entry {
  job: BundleJob;
  ctrl: AbortController;
  cancellable: boolean;
  tenantId: string | null;
  samples: { t: number; bytes: number }[];
  lastEmit: number;
  done: Promise<void>;
}

const KEEP_FINISHED = 50;
const EMIT_EVERY_MS = 250;
const RATE_WINDOW_MS = 5000;

export function createJobs(deps: { clock: Clock; events: EventHub; logger: Logger }): Jobs {
  const { clock, events } = deps;
  const entries = new Map<string, Entry>();

  const emit = (e: Entry, force = false) => {
    const t = clock.monotonic();
    if (!force && t - e.lastEmit < EMIT_EVERY_MS) return;
    e.lastEmit = t;
    events.publish('job', structuredClone(e.job), e.tenantId);
  };

  const measure = (e: Entry) => {
    const t = clock.monotonic();
    e.samples.push({ t, bytes: e.job.bytes });
    while (e.samples.length > 2 && t - e.samples[0]!.t > RATE_WINDOW_MS) e.samples.shift();
    const first = e.samples[0]!;
    const dt = (t - first.t) / 1000;
    e.job.rate = dt >= 0.5 ? Math.max(0, (e.job.bytes - first.bytes) / dt) : e.job.rate;
    e.job.etaSeconds =
      e.job.rate && e.job.totalBytes !== null && e.job.totalBytes >= e.job.bytes
        ? Math.round((e.job.totalBytes - e.job.bytes) / e.job.rate)
        : null;
  };

  const prune = () => {
    const finished = [...entries.values()].filter((e) => e.job.state !== 'running');
    for (const e of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) entries.delete(e.job.id);
  };

  const jobs: Jobs = {
    start(kind, label, tenantId, run, onEnd) {
      const id = crypto.randomBytes(9).toString('base64url');
      const job: BundleJob = {
        id,
        kind,
        state: 'running',
        phase: 'starting',
        label,
        bytes: 0,
        totalBytes: null,
        rate: null,
        etaSeconds: null,
        startedAt: clock.now(),
        finishedAt: null,
        error: null,
        result: null,
      };
      const ctrl = new AbortController();
      const started = clock.monotonic();
      const e: Entry = {
        job,
        ctrl,
        cancellable: true,
        tenantId,
        samples: [],
        lastEmit: 0,
        done: Promise.resolve(),
      };
      entries.set(id, e);
      const control: JobControl = {
        id,
        signal: ctrl.signal,
        phase(phase, totalBytes) {
          job.phase = phase;
          if (totalBytes !== undefined) job.totalBytes = totalBytes;
          e.samples = [];
          job.bytes = 0;
          job.rate = null;
          job.etaSeconds = null;
          emit(e, true);
        },
        progress(bytes, totalBytes) {
          job.bytes = bytes;
          if (totalBytes !== undefined) job.totalBytes = totalBytes;
          measure(e);
          emit(e);
        },
        uncancellable() {
          e.cancellable = false;
        },
      };
      e.done = (async () => {
        // Let the caller see the job before it runs.
        await Promise.resolve();
        try {
          const r = await run(control);
          const seconds = Math.max(0.001, (clock.monotonic() - started) / 1000);
          const bytes = r.size ?? job.bytes;
          job.result = { ...r, seconds, throughput: r.throughput ?? (bytes ? bytes / seconds : null) };
          job.state = 'succeeded';
          job.phase = 'done';
        } catch (err) {
          const oe =
            err instanceof OutpostError
              ? err
              : ctrl.signal.aborted
                ? new OutpostError('cancelled', `${label}: cancelled`)
                : OutpostError.from(err);
          if (!(err instanceof OutpostError) && !ctrl.signal.aborted)
            deps.logger.error({ err, job: id }, 'bundle job failed unexpectedly');
          job.state = oe.code === 'cancelled' ? 'cancelled' : 'failed';
          job.error = { code: oe.code, message: oe.message, status: oe.status };
        } finally {
          job.finishedAt = clock.now();
          job.rate = null;
          job.etaSeconds = null;
          emit(e, true);
          try {
            onEnd?.(structuredClone(job));
          } catch (err) {
            deps.logger.error({ err, job: id }, 'bundle job end handler failed');
          }
          prune();
        }
      })();
      return structuredClone(job);
    },
    get(id) {
      const e = entries.get(id);
      if (!e) throw errors.notFound('job', id);
      return structuredClone(e.job);
    },
    list() {
      return [...entries.values()]
        .map((e) => structuredClone(e.job))
        .sort((a, b) => b.startedAt - a.startedAt);
    },
    cancel(id) {
      const e = entries.get(id);
      if (!e) throw errors.notFound('job', id);
      if (e.job.state === 'running') {
        if (!e.cancellable)
          throw new OutpostError(
            'conflict',
            `${e.job.label}: it is applying the bundle now and finishes in one step; it cannot be cancelled`,
          );
        e.ctrl.abort();
      }
      return structuredClone(e.job);
    },
    async settled() {
      await Promise.all([...entries.values()].map((e) => e.done));
    },
    cancelAll() {
      for (const e of entries.values()) if (e.job.state === 'running' && e.cancellable) e.ctrl.abort();
    },
  };
  return jobs;
}
