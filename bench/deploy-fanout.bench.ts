import { describe, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCore } from '../test/helpers/core.js';
import { WASM_APP, capabilitiesFor } from '../test/fixtures/margo.js';
import { parseDeviceCapabilities } from '../lib/margo-validation/index.js';

/**
 * One LO serving N nodes, in-process (no network): how long a deploy takes from the operator's call
 * until every node's manifest is rebuilt (database, placement, git commit of N files, N manifests and
 * bundles), an update of all N, and ingesting N status reports. Writes bench/results/deploy-fanout.json.
 */
const SIZES = (process.env.OUTPOST_BENCH_NODES ?? '1000,10000').split(',').map(Number);

describe('deploy fan-out through one LO', () => {
  it('measures', async () => {
    const results: Record<string, unknown>[] = [];
    for (const n of SIZES) {
      const t = await startTestCore({ overrides: { mmi: { enabled: false } } });
      try {
        const c = t.core.client();
        await c.apps.add({
          source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
        });
        await c.sites.add({ id: 'plant' });
        const now = Date.now();
        const caps = JSON.stringify(parseDeviceCapabilities(capabilitiesFor('x')));
        const ins = t.core.store.sqlite.prepare(
          `INSERT INTO nodes (uid, tenant_id, name, site_id, labels, cordoned, state, capabilities, capabilities_at, last_seen_at, created_at) VALUES (?, 'default', ?, 'plant', '{}', 0, 'enrolled', ?, ?, ?, ?)`,
        );
        t.core.store.tx(() => {
          for (let i = 0; i < n; i++) ins.run(`default.n${i}`, `n${i}`, caps, now, now, now);
        });

        const rss0 = process.memoryUsage().rss;
        let started = performance.now();
        const d = await c.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant' } });
        const deployMs = performance.now() - started;
        const manifests = t.core.store.sqlite
          .prepare('SELECT count(*) AS n FROM lo_clients WHERE manifest_version >= 1')
          .get() as { n: number };

        started = performance.now();
        await c.deployments.update({ id: d.id, parameters: { greeting: 'hey' } });
        const updateMs = performance.now() - started;

        // Status reports as the MMI hands them over (one per node), then the rollout reacting once.
        const rows = t.core.store.sqlite
          .prepare('SELECT client_id AS c, manifest_version AS v FROM lo_clients')
          .all() as { c: string; v: number }[];
        started = performance.now();
        for (const r of rows) {
          t.core.deploy.recordStatus({
            clientId: r.c,
            status: {
              deploymentId: d.id,
              adoptedManifestVersion: r.v,
              status: { state: 'installed' },
              components: [{ name: 'hello', state: 'installed' }],
            },
            digest: t.core.lo.manifests.digestAt(r.c, d.id, r.v),
            receivedAt: Date.now(),
          });
        }
        await t.core.deploy.settle();
        const statusMs = performance.now() - started;
        const view = await c.deployments.get({ id: d.id });
        results.push({
          nodes: n,
          deployMs: Math.round(deployMs),
          manifestsBuilt: manifests.n,
          updateAllMs: Math.round(updateMs),
          statusIngestMs: Math.round(statusMs),
          statusPerSecond: Math.round(rows.length / (statusMs / 1000)),
          installedReported: view.counts.installed,
          rssDeltaMb: Math.round((process.memoryUsage().rss - rss0) / 1e6),
        });
      } finally {
        await t.stop();
      }
    }
    const out = {
      bench: 'deploy-fanout',
      at: new Date().toISOString(),
      note: 'in-process, no network: DB + placement + git + manifests/bundles; statuses through recordStatus',
      results,
    };
    fs.mkdirSync('bench/results', { recursive: true });
    fs.writeFileSync(path.join('bench/results', 'deploy-fanout.json'), JSON.stringify(out, null, 2) + '\n');
    console.log(JSON.stringify(out, null, 2));
  });
});
