import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { apiFor, type Api } from '../fixtures/agent/harness.js';

/**
 * Enrollment requests on one machine (loopback, `--lo URL --request`, ADR 0462): the node pins the CA the LO
 * presents and prints it; a request nobody decides expires and the waiting node says so; an expired request
 * cannot be approved; one address may file only so many requests an hour; every step is in the audit log.
 */
describe('enrollment requests: expiry, rate limit, audit', { timeout: 120_000 }, () => {
  const serverHome = tempHome('outpost-ereq-srv-');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-ereq-'));
  let server: ServerProcess;
  let api: Api;

  beforeAll(async () => {
    // Requests expire after 3 s; three per address and hour.
    fs.writeFileSync(
      path.join(serverHome.home, 'config.yaml'),
      'discovery:\n  requestTtlMinutes: 0.05\n  requestsPerHour: 3\n',
    );
    server = await startServer(serverHome.home, ['--role', 'lo']);
    api = apiFor(server);
  });
  afterAll(async () => {
    await server?.stop();
    serverHome.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  const request = (n: number) =>
    edgectl(
      [
        'agent',
        'enroll',
        '--home',
        path.join(scratch, `a${n}`),
        '--lo',
        server.info.mmiUrl!,
        '--request',
        '--name',
        `early-${n}`,
      ],
      { timeoutMs: 60_000 },
    );

  it('a request nobody decides expires: the node says so and keeps no identity; it cannot be approved afterwards', async () => {
    const r = await request(1);
    expect(r.code).not.toBe(0);
    const ca = await api.identity.ca({});
    expect(r.stderr).toContain(`the site CA was taken from the LO itself (${ca.fingerprint})`);
    const id = /enrollment request (req-[0-9a-f]+) filed/.exec(r.stderr)![1]!;
    expect(r.stderr).toMatch(
      new RegExp(`edgectl: enrollment request ${id} expired at \\S+ before an operator approved it\\n$`),
    );
    expect(fs.existsSync(path.join(scratch, 'a1', 'identity', 'enrollment.json'))).toBe(false);

    const all = await api.enrollRequests.list({ all: true });
    expect(all.requests.find((q) => q.id === id)).toMatchObject({
      state: 'expired',
      requestedName: 'early-1',
      address: '127.0.0.1',
    });
    expect((await api.enrollRequests.list({})).requests).toEqual([]);

    const approve = await edgectl([
      'co',
      'approve',
      id,
      '--node',
      'late',
      '--site',
      'local',
      '--home',
      serverHome.home,
    ]);
    expect(approve.code).toBe(1);
    expect(approve.stderr).toBe(`edgectl: enrollment request ${id} is expired, not pending\n`);
    await expect(api.nodes.get({ name: 'late' })).rejects.toMatchObject({ code: 'not-found' });

    const audit = (await api.system.audit({ limit: 100 })).entries.filter(
      (e) => e.target === `enroll-request/${id}`,
    );
    expect(audit.map((e) => `${e.action}:${e.result}`).sort()).toEqual([
      'enrollRequests.approve:error',
      'enrollRequests.expire:ok',
      'enrollRequests.file:ok',
    ]);
  });

  it('one address may file only so many requests an hour', async () => {
    // The first test filed one; two more are allowed, the fourth is refused before anything is stored.
    expect((await request(2)).stderr).toMatch(/expired/);
    expect((await request(3)).stderr).toMatch(/expired/);
    const before = (await api.enrollRequests.list({ all: true })).requests.length;
    const r = await request(4);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /^edgectl: the LO refused the enrollment request \(429\): 3 enrollment requests from 127\.0\.0\.1 in the last hour \(at most 3\); retry after \d+ s\n$/,
    );
    expect((await api.enrollRequests.list({ all: true })).requests.length).toBe(before);
  });
});
