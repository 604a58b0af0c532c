import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/base/index.js';
import { silentLogger } from '../../../lib/log/index.js';
import { startModuleSession, type ModuleSession } from '../../../test/fixtures/agent/module-session.js';
import { parseAgentConfig } from '../config.js';
import { agentPaths } from '../home.js';
import { createSvidRenewal } from './svid-renewal.js';
import { waitFor } from '../../../test/helpers/wait.js';

// The renewal module's schedule against a WFM over real mutual TLS that does not renew (the renewal
// itself against the real LO: test/integration/svid-renewal.test.ts): nothing is asked before the SVID is
// due; once due, a failed renewal keeps the identity and is tried again with backoff.

let m: ModuleSession | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await m?.close();
  m = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const RENEW = 'POST /api/v1/outpost/renew';
const config = parseAgentConfig({ identity: { retrySeconds: 0.1, maxRetrySeconds: 0.2 } });
const home = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-renewal-module-'));
  dirs.push(d);
  return agentPaths(d);
};

describe('the renewal module', () => {
  it('asks for nothing while the SVID is not due', async () => {
    m = await startModuleSession('edge-r1');
    const r = createSvidRenewal({
      session: m.session,
      paths: home(),
      config,
      clock: systemClock,
      logger: silentLogger(),
    });
    await r.start();
    await r.stop();
    expect(m.fake.requests.filter((x) => x === RENEW)).toEqual([]);
  });

  it('keeps its identity and tries again with backoff when a due renewal fails', async () => {
    // An hour-long SVID with ten minutes left: less than a third, so it is due.
    m = await startModuleSession('edge-r2', { issuedAt: Date.now() - 50 * 60_000, ttlSeconds: 3600 });
    const before = m.session.identity();
    const r = createSvidRenewal({
      session: m.session,
      paths: home(),
      config,
      clock: systemClock,
      logger: silentLogger(),
    });
    await r.start();
    await waitFor(() => m!.fake.requests.filter((x) => x === RENEW).length >= 3, {
      what: 'three renewal attempts',
      timeoutMs: 20_000,
    });
    await r.stop();
    expect(m.session.identity()).toBe(before);
  });
});
