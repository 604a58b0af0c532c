import type { RestartTiming, WorkloadStatus } from '../runtimes/index.js';
import { backoffMs } from './schedule.js';
import type { ComponentReport } from './state.js';
import { componentFromWorkload, isHealthy, isSettling } from './status.js';

/**
 * The agent's restart policy for every runtime (ADR 0207). A workload that stopped when its policy
 * wants it running is started again by the agent, after a backoff that doubles from
 * `deployments.restartSeconds` up to `maxRestartSeconds` with each crash in a row, and starts over once
 * the workload has been up for `healthySeconds`. Runtimes that restart their workloads themselves (the
 * WASM runner, with the same backoff) are left to it, unless their supervisor is gone. Every crash is
 * reported as `failed`, with the exit and its time and the restart count; a workload that crashed again
 * before it was healthy again is in a crash loop and stays `failed` (`runtime/crash-loop`) while it runs,
 * until it has been up for `healthySeconds`.
 */

/** What the agent remembers of a component's restarts (in state.json, so an agent restart keeps the backoff). */
export interface RestartRecord {
  /** The spec hash these counts belong to (a new spec starts over). */
  specHash: string;
  /** Restarts the agent made. */
  restarts: number;
  /** Crashes since the workload was last healthy for `healthyAfterMs`. */
  consecutive: number;
  lastExit?: { at: number; exitCode?: number; message: string };
  /** When the pending restart is due (set from the crash until the agent starts it again). */
  dueAt?: number;
}

export type RestartPolicyName = 'on-failure' | 'always' | 'never';

export interface Judgement {
  /**
   * `none`: leave it (healthy, settling, or restarted by its runtime); `restart`: start it again (due at
   * `record.dueAt`); `final`: it stays down (its policy, its runtime's own verdict, or restarts used up);
   * `apply`: it runs another spec than the plan's (changed under the agent): apply the plan's again;
   * `unknown`: the runtime could not say (conclude nothing).
   */
  action: 'none' | 'restart' | 'final' | 'apply' | 'unknown';
  report: ComponentReport;
  record: RestartRecord | undefined;
}

export interface JudgeInput {
  component: string;
  specHash: string;
  status: WorkloadStatus;
  policy: RestartPolicyName;
  maxRestarts?: number;
  /** The runtime restarts its workloads itself (RuntimeDefinition.supervises). */
  supervises: boolean;
  record: RestartRecord | undefined;
  now: number;
  timing: RestartTiming;
}

const iso = (t: number) => new Date(t).toISOString();

function exitText(e: NonNullable<RestartRecord['lastExit']>): string {
  return `${e.message} at ${iso(e.at)}`;
}

/** Decides what to do about one workload, and what to report; returns the updated record. */
export function judge(i: JudgeInput): Judgement {
  const { component: name, status: st, now, timing } = i;
  let rec: RestartRecord | undefined =
    i.record && i.record.specHash === i.specHash ? { ...i.record } : undefined;
  if (st.state === 'unknown')
    return { action: 'unknown', report: { name, state: 'installing' }, record: rec };

  const done = st.state === 'exited' && !st.lost && (st.exitCode ?? 0) === 0;
  if (isHealthy(st) && !(done && i.policy === 'always')) {
    if (rec) {
      delete rec.dueAt;
      // Up long enough: the backoff starts over and a crash loop is over.
      if (rec.consecutive > 0 && (done || now - st.since >= timing.healthyAfterMs)) rec.consecutive = 0;
    }
    if (rec && rec.consecutive >= 2 && rec.lastExit) {
      return {
        action: 'none',
        record: rec,
        report: {
          name,
          state: 'failed',
          error: {
            code: 'runtime/crash-loop',
            source: name,
            message: `crash loop: ${rec.restarts} restarts, ${rec.consecutive} in a row; last ${exitText(rec.lastExit)}; running again since ${iso(st.since)}`,
          },
        },
      };
    }
    return { action: 'none', report: { name, state: 'installed' }, record: rec };
  }
  // Coming up, or crashed and restarting under its runtime's own backoff (the WASM runner).
  if (isSettling(st)) return { action: 'none', report: componentFromWorkload(name, st), record: rec };

  const base = componentFromWorkload(name, st);
  const wanted =
    st.state === 'removed' ||
    (i.supervises
      ? st.lost === true && i.policy !== 'never'
      : i.policy === 'always' || (i.policy === 'on-failure' && !done));
  if (!wanted) return { action: 'final', report: base, record: rec };

  rec ??= { specHash: i.specHash, restarts: 0, consecutive: 0 };
  if (rec.dueAt === undefined) {
    if (i.maxRestarts !== undefined && rec.restarts >= i.maxRestarts) {
      return {
        action: 'final',
        record: rec,
        report: {
          ...base,
          state: 'failed',
          error: {
            code: base.error?.code ?? 'runtime/failed',
            source: name,
            message: `gave up after ${rec.restarts} restarts: ${base.error?.message ?? st.state}`,
          },
        },
      };
    }
    // A new crash: noticed now (a lost supervisor left no time of its own), restarted after the backoff.
    rec.consecutive++;
    rec.lastExit = {
      at: st.lost || st.state === 'removed' ? now : st.since || now,
      ...(st.exitCode !== undefined ? { exitCode: st.exitCode } : {}),
      message: base.error?.message ?? st.state,
    };
    rec.dueAt = now + backoffMs(rec.consecutive, timing.firstDelayMs, timing.maxDelayMs);
  }
  const loop = rec.consecutive >= 2;
  return {
    action: 'restart',
    record: rec,
    report: {
      name,
      state: 'failed',
      error: {
        code: loop ? 'runtime/crash-loop' : (base.error?.code ?? 'runtime/failed'),
        source: name,
        message: `${loop ? 'crash loop: ' : ''}${exitText(rec.lastExit!)}; restart ${rec.restarts + 1} due at ${iso(rec.dueAt)}`,
      },
    },
  };
}

/** The record after the agent started the workload again. */
export function restarted(rec: RestartRecord): RestartRecord {
  const { dueAt: _done, ...rest } = rec;
  return { ...rest, restarts: rec.restarts + 1 };
}
