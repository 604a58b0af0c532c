import { describe, expect, it } from 'vitest';
import type { WorkloadStatus } from '../runtimes/index.js';
import { judge, restarted, type JudgeInput, type RestartRecord } from './restart-policy.js';

// The restart policy the agent applies to every runtime (ADR 0207): what it does about a workload in
// each state, the backoff, the reset after a healthy run, and what it reports.

const T0 = Date.parse('2026-12-07T10:00:00.000Z');
const timing = { firstDelayMs: 1000, maxDelayMs: 8000, healthyAfterMs: 60_000 };
const ws = (p: Partial<WorkloadStatus>): WorkloadStatus => ({
  workloadId: 'd.web',
  kind: 'container',
  state: 'running',
  specHash: 'sha256:1',
  since: T0,
  restarts: 0,
  ...p,
});
const input = (
  status: WorkloadStatus,
  record?: RestartRecord,
  over: Partial<JudgeInput> = {},
): JudgeInput => ({
  component: 'web',
  specHash: 'sha256:1',
  status,
  policy: 'on-failure',
  supervises: false,
  record,
  now: T0 + 5000,
  timing,
  ...over,
});

describe('restart policy', () => {
  it('leaves a healthy workload alone and reports it installed', () => {
    const j = judge(input(ws({})));
    expect(j).toEqual({ action: 'none', report: { name: 'web', state: 'installed' }, record: undefined });
  });

  it('restarts a crash after a backoff that doubles and is capped, reporting the exit with its time', () => {
    let rec: RestartRecord | undefined;
    const delays: number[] = [];
    let now = T0;
    for (let i = 1; i <= 6; i++) {
      now += 10_000;
      const j = judge(
        input(ws({ state: 'failed', exitCode: 1, since: now - 100, message: 'exited with code 1' }), rec, {
          now,
        }),
      );
      expect(j.action).toBe('restart');
      rec = j.record!;
      delays.push(rec.dueAt! - now);
      expect(rec.consecutive).toBe(i);
      expect(j.report).toMatchObject({ state: 'failed', error: { source: 'web' } });
      expect(j.report.error!.message).toContain(`exited with code 1 at ${new Date(now - 100).toISOString()}`);
      expect(j.report.error!.message).toContain(`restart ${i} due at ${new Date(rec.dueAt!).toISOString()}`);
      expect(j.report.error!.code).toBe(i === 1 ? 'runtime/failed' : 'runtime/crash-loop');
      // Seen again before the restart: the same crash, counted once, the same report.
      expect(
        judge(input(ws({ state: 'failed', exitCode: 1, since: now - 100 }), rec, { now: now + 1 })),
      ).toMatchObject({ action: 'restart', record: rec });
      rec = restarted(rec);
      expect(rec).toMatchObject({ restarts: i });
      expect(rec).not.toHaveProperty('dueAt');
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('keeps a crash loop failed while it runs, until it has been up for the healthy period', () => {
    const rec: RestartRecord = {
      specHash: 'sha256:1',
      restarts: 3,
      consecutive: 3,
      lastExit: { at: T0 - 1000, exitCode: 1, message: 'exited with code 1' },
    };
    const up = judge(input(ws({ since: T0 }), rec, { now: T0 + 5000 }));
    expect(up.action).toBe('none');
    expect(up.report).toMatchObject({ state: 'failed', error: { code: 'runtime/crash-loop' } });
    expect(up.report.error!.message).toMatch(
      /^crash loop: 3 restarts, 3 in a row; last exited with code 1 at /,
    );
    const healthy = judge(input(ws({ since: T0 }), rec, { now: T0 + 60_000 }));
    expect(healthy.report).toEqual({ name: 'web', state: 'installed' });
    expect(healthy.record).toMatchObject({ restarts: 3, consecutive: 0 });
    // The next crash starts the backoff over.
    const next = judge(
      input(ws({ state: 'failed', exitCode: 2, since: T0 + 70_000 }), healthy.record, { now: T0 + 70_001 }),
    );
    expect(next.record!.dueAt! - (T0 + 70_001)).toBe(1000);
    expect(next.report.error!.code).toBe('runtime/failed');
  });

  it('follows the policy: never leaves a failure down, always restarts a job that finished', () => {
    const failed = ws({ state: 'failed', exitCode: 3 });
    expect(judge(input(failed, undefined, { policy: 'never' })).action).toBe('final');
    const done = ws({ state: 'exited', exitCode: 0 });
    expect(judge(input(done)).action).toBe('none');
    expect(judge(input(done, undefined, { policy: 'always' })).action).toBe('restart');
    // Vanished from the runtime: made again whatever the policy.
    expect(judge(input(ws({ state: 'removed' }), undefined, { policy: 'never' })).action).toBe('restart');
  });

  it('gives up after maxRestarts', () => {
    const rec: RestartRecord = { specHash: 'sha256:1', restarts: 2, consecutive: 2 };
    const j = judge(
      input(ws({ state: 'failed', exitCode: 1, message: 'exited with code 1' }), rec, { maxRestarts: 2 }),
    );
    expect(j.action).toBe('final');
    expect(j.report.error!.message).toBe('gave up after 2 restarts: exited with code 1');
  });

  it('leaves restarts to a runtime that supervises its workloads, unless its supervisor is gone', () => {
    const restarting = ws({ kind: 'wasm', state: 'restarting', exitCode: 1, restarts: 4 });
    const r = judge(input(restarting, undefined, { supervises: true }));
    expect(r.action).toBe('none');
    expect(r.report.error!.message).toMatch(/restarting \(4 restarts\)/);
    const gaveUp = ws({ kind: 'wasm', state: 'failed', exitCode: 1 });
    expect(judge(input(gaveUp, undefined, { supervises: true })).action).toBe('final');
    const lost = ws({ kind: 'wasm', state: 'failed', lost: true, message: 'the runner (pid 7) is gone' });
    const j = judge(input(lost, undefined, { supervises: true, now: T0 + 9000 }));
    expect(j.action).toBe('restart');
    // A lost supervisor left no time: the time it was noticed is reported.
    expect(j.report.error).toMatchObject({ code: 'runtime/lost' });
    expect(j.report.error!.message).toContain(
      `the runner (pid 7) is gone at ${new Date(T0 + 9000).toISOString()}`,
    );
  });

  it('starts over for a new spec, and concludes nothing when the runtime cannot say', () => {
    const rec: RestartRecord = { specHash: 'sha256:old', restarts: 5, consecutive: 5 };
    expect(judge(input(ws({}), rec)).record).toBeUndefined();
    expect(judge(input(ws({ state: 'unknown' }), rec)).action).toBe('unknown');
  });
});
