import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/base/index.js';
import { silentLogger } from '../../../lib/log/index.js';
import type { DeploymentStatus } from '../../../lib/model/index.js';
import { startModuleSession, type ModuleSession } from '../../../test/fixtures/agent/module-session.js';
import { parseAgentConfig } from '../config.js';
import { createOutbox } from '../outbox.js';
import { createOutboxDelivery } from './outbox-delivery.js';
import { waitFor } from '../../../test/helpers/wait.js';

// The outbox module against a WFM over real mutual TLS: reports go out in the order they were queued,
// wait while the LO refuses them, and follow once it takes them again.

let m: ModuleSession | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await m?.close();
  m = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const report = (n: number): DeploymentStatus => ({
  deploymentId: '31111111-2222-4333-8444-555555555555',
  adoptedManifestVersion: n,
  status: { state: 'installed' },
  components: [{ name: 'web', state: 'installed' }],
});

describe('the outbox module', () => {
  it('delivers queued reports in order, holds them while the LO refuses, and delivers them when it is back', async () => {
    m = await startModuleSession();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-outbox-module-'));
    dirs.push(dir);
    const outbox = createOutbox({ dir, logger: silentLogger(), maxReports: 100 });
    const config = parseAgentConfig({ poll: { intervalSeconds: 0.1, maxBackoffSeconds: 0.2, jitter: 0 } });
    const delivery = createOutboxDelivery({
      outbox,
      client: m.session.client,
      config,
      clock: systemClock,
      logger: silentLogger(),
    });
    for (const n of [1, 2, 3]) outbox.enqueue(report(n), Date.now());
    await delivery.start();
    await waitFor(() => m!.fake.statuses.length === 3, { what: 'three reports', timeoutMs: 20_000 });
    expect(m.fake.statuses.map((s) => s.adoptedManifestVersion)).toEqual([1, 2, 3]);
    expect(outbox.size()).toBe(0);

    // The LO is overloaded: nothing is lost, the queue waits.
    let refused = 0;
    m.fake.intercept = (r) =>
      r.startsWith('POST') ? (refused++, { status: 503, retryable: true }) : undefined;
    for (const n of [4, 5]) outbox.enqueue(report(n), Date.now());
    delivery.flush();
    await waitFor(() => refused > 0, { what: 'a refusal', timeoutMs: 20_000 });
    expect(outbox.size()).toBe(2);
    m.fake.intercept = undefined;
    await waitFor(() => outbox.size() === 0, { what: 'the queue to drain', timeoutMs: 20_000 });
    expect(m.fake.statuses.map((s) => s.adoptedManifestVersion)).toEqual([1, 2, 3, 4, 5]);
    await delivery.stop();
  });
});
