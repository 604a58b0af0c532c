import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/base/index.js';
import { silentLogger } from '../../../lib/log/index.js';
import { startModuleSession, type ModuleSession } from '../../../test/fixtures/agent/module-session.js';
import { parseAgentConfig } from '../config.js';
import { createStateStore } from '../state.js';
import { DesiredStateSync } from '../sync.js';
import { createPolling } from './polling.js';
import { waitFor } from '../../../test/helpers/wait.js';

// The polling module against a WFM over real mutual TLS: it adopts the desired state and hands the
// changed deployments to the reconciler, nudges status delivery, and polls at once when asked.

let m: ModuleSession | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await m?.close();
  m = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const DEP = '41111111-2222-4333-8444-555555555555';
const yaml = `id: ${DEP}
metadata: { name: demo, namespace: default, deviceId: edge-m }
spec:
  applicationId: demo
  deploymentProfile:
    type: compose
    components:
      - name: web
        properties: { repository: oci://r.example/web, revision: 1.0.0 }
`;

describe('the polling module', () => {
  it('adopts the desired state, hands what changed to the reconciler, and polls now when asked', async () => {
    m = await startModuleSession();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-polling-module-'));
    dirs.push(dir);
    const store = createStateStore({
      file: path.join(dir, 'state.json'),
      desiredDir: path.join(dir, 'desired'),
    });
    await m.fake.set({ manifestVersion: 2, deployments: [{ deploymentId: DEP, yaml }] });
    const kicked: string[] = [];
    let flushes = 0;
    // Ten minutes between polls: only pollNow() can make a second one within this test.
    const config = parseAgentConfig({ poll: { intervalSeconds: 600, jitter: 0 } });
    const polling = createPolling({
      sync: new DesiredStateSync({
        client: m.session.client,
        store,
        logger: silentLogger(),
        clock: systemClock,
      }),
      session: m.session,
      reconciler: { kick: (id) => void kicked.push(id), sweepOrphans: () => Promise.resolve() },
      store,
      flushReports: () => void flushes++,
      config,
      clock: systemClock,
      logger: silentLogger(),
    });
    const manifests = () => m!.fake.requests.filter((r) => r === 'GET /api/v1/deployments').length;
    await polling.start();
    await waitFor(() => store.get().manifestVersion === 2, { what: 'the first manifest', timeoutMs: 20_000 });
    expect(kicked).toEqual([DEP]);
    await waitFor(() => flushes > 0, { what: 'status delivery to be nudged', timeoutMs: 20_000 });
    expect(manifests()).toBe(1);

    await m.fake.set({
      manifestVersion: 3,
      deployments: [{ deploymentId: DEP, yaml: yaml.replace('1.0.0', '1.1.0') }],
    });
    polling.pollNow();
    await waitFor(() => store.get().manifestVersion === 3, {
      what: 'the second manifest',
      timeoutMs: 20_000,
    });
    expect(kicked).toEqual([DEP, DEP]);
    expect(manifests()).toBe(2);
    await polling.stop();
    polling.pollNow();
    expect(manifests()).toBe(2);
  });
});
