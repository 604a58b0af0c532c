import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../lib/log/index.js';
import type { DeploymentStatus } from '../../lib/model/index.js';
import { createOutbox, type OutboxEntry, type SendOutcome } from './outbox.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-outbox-'));
  dirs.push(d);
  return path.join(d, 'outbox');
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const status = (id: string, state: DeploymentStatus['status']['state']): DeploymentStatus => ({
  deploymentId: id,
  adoptedManifestVersion: 1,
  status: { state },
  components: [{ name: 'c', state }],
});

describe('status outbox', () => {
  it('keeps reports on disk (0600) in order across a reopen, and sends them in that order', async () => {
    const dir = tmp();
    const a = createOutbox({ dir, logger: silentLogger(), maxReports: 100 });
    a.enqueue(status('d1', 'installing'), 1);
    a.enqueue(status('d1', 'installed'), 2);
    const f = fs.readdirSync(dir);
    expect(f).toEqual(['000000000001.json', '000000000002.json']);
    expect(fs.statSync(path.join(dir, f[0]!)).mode & 0o777).toBe(0o600);
    // A new process continues the sequence.
    const b = createOutbox({ dir, logger: silentLogger(), maxReports: 100 });
    expect(b.enqueue(status('d2', 'installing'), 3).seq).toBe(3);
    const sent: string[] = [];
    const r = await b.flush(async (e) => {
      sent.push(`${e.seq}:${e.status.deploymentId}:${e.status.status.state}`);
      return { kind: 'sent' };
    });
    expect(r).toEqual({ sent: 3, dropped: 0 });
    expect(sent).toEqual(['1:d1:installing', '2:d1:installed', '3:d2:installing']);
    expect(b.size()).toBe(0);
  });

  it('stops at the first report that must wait, keeping it and everything after it; drops what the LO refuses', async () => {
    const ob = createOutbox({ dir: tmp(), logger: silentLogger(), maxReports: 100 });
    for (const s of ['installing', 'installed', 'removing'] as const) ob.enqueue(status('d', s), 0);
    const outcomes: SendOutcome[] = [
      { kind: 'drop', reason: '422' },
      { kind: 'retry', reason: 'LO away', retryAfterMs: 5000 },
    ];
    const seen: number[] = [];
    const r = await ob.flush(async (e) => {
      seen.push(e.seq);
      return outcomes.shift() ?? { kind: 'sent' };
    });
    expect(r).toEqual({
      sent: 0,
      dropped: 1,
      stopped: { kind: 'retry', reason: 'LO away', retryAfterMs: 5000 },
    });
    expect(ob.list().map((e: OutboxEntry) => e.status.status.state)).toEqual(['installed', 'removing']);
    const r2 = await ob.flush(async (e) => {
      seen.push(e.seq);
      return { kind: 'sent' };
    });
    expect(r2.sent).toBe(2);
    expect(seen).toEqual([1, 2, 2, 3]);
  });

  it('shares one flush between concurrent callers (no report is sent twice)', async () => {
    const ob = createOutbox({ dir: tmp(), logger: silentLogger(), maxReports: 100 });
    ob.enqueue(status('d', 'installing'), 0);
    let calls = 0;
    const send = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 20));
      return { kind: 'sent' } as const;
    };
    const [a, b] = await Promise.all([ob.flush(send), ob.flush(send)]);
    expect(a).toBe(b);
    expect(calls).toBe(1);
    // A later flush after the first completed starts afresh.
    ob.enqueue(status('d', 'installed'), 0);
    expect((await ob.flush(send)).sent).toBe(1);
  });

  it('is bounded: the oldest reports go first', () => {
    const ob = createOutbox({ dir: tmp(), logger: silentLogger(), maxReports: 10 });
    for (let i = 0; i < 13; i++) ob.enqueue(status(`d${i}`, 'installed'), i);
    expect(ob.list().map((e) => e.seq)).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  });
});
