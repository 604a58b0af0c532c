/**
 * Fleet health benchmark: what the Dashboard asks of the server with 10,000 nodes and 1,000 deployments
 * (10 nodes each, one node of every tenth deployment failed): `health.attention`, `health.series` over
 * 24 h of five-minute points, and one sample of the time series (what the core does every minute).
 * In-process on a real SQLite file. Writes bench/results/fleet-health.json. Numbers only.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { startTestCore } from '../test/helpers/core.js';

const NODES = 10_000;
const DEPLOYMENTS = 1_000;
const PER_DEPLOYMENT = 10;
const RUNS = 5;
const here = path.dirname(fileURLToPath(import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

it(`fleet health with ${NODES} nodes and ${DEPLOYMENTS} deployments`, async () => {
  const t = await startTestCore({ overrides: { health: { sampleEverySeconds: 3600 } } });
  try {
    const sqlite = t.core.store.sqlite;
    const now = Date.now();
    const c = t.core.client();
    for (const s of ['plant-a', 'plant-b', 'plant-c', 'plant-d']) await c.sites.add({ id: s });
    t.core.store.tx(() => {
      const node = sqlite.prepare(
        `INSERT INTO nodes (uid, tenant_id, name, site_id, labels, cordoned, state, last_seen_at, enrolled_at, created_at)
         VALUES (?, 'default', ?, ?, '{}', 0, 'enrolled', ?, ?, ?)`,
      );
      for (let i = 0; i < NODES; i++) {
        const name = `n-${String(i).padStart(5, '0')}`;
        // One in ten offline, one in twenty stale, the rest online.
        const seen = i % 10 === 0 ? now - 3_600_000 : i % 20 === 5 ? now - 60_000 : now - 1000;
        node.run(`default.${name}`, name, `plant-${'abcd'[i % 4]}`, seen, now - 7_200_000, now - 7_200_000);
      }
      const dep = sqlite.prepare(
        `INSERT INTO deployments (id, tenant_id, name, app_id, version, profile_id, parameters, target, state, generation, created_at, updated_at, created_by)
         VALUES (?, 'default', ?, 'app', '1.0.0', 'p', '{}', '{}', 'active', 1, ?, ?, 'bench')`,
      );
      const target = sqlite.prepare(
        `INSERT INTO deployment_targets (deployment_id, node_uid, tenant_id, site_id, node_name, desired, generation, version, state, state_at, assigned_at)
         VALUES (?, ?, 'default', ?, ?, 'present', 1, '1.0.0', ?, ?, ?)`,
      );
      for (let d = 0; d < DEPLOYMENTS; d++) {
        const id = `dep-${d}`;
        dep.run(id, `deployment-${d}`, now, now);
        for (let k = 0; k < PER_DEPLOYMENT; k++) {
          const i = (d * PER_DEPLOYMENT + k) % NODES;
          const name = `n-${String(i).padStart(5, '0')}`;
          const state = d % 10 === 0 && k === 0 ? 'failed' : 'installed';
          target.run(id, `default.${name}`, `plant-${'abcd'[i % 4]}`, name, state, now, now - 600_000);
        }
      }
    });
    // A day of five-minute samples already stored (what 24 h of running leaves).
    const insert = sqlite.prepare(
      `INSERT INTO metric_samples (tenant_id, series, subject, step, at, "values") VALUES ('default', 'presence', '', 300000, ?, ?)`,
    );
    t.core.store.tx(() => {
      for (let k = 1; k <= 288; k++)
        insert.run(
          Math.floor((now - k * 300_000) / 300_000) * 300_000,
          JSON.stringify({ online: 9000, stale: 500, offline: 1000, unknown: 0 }),
        );
    });

    const attention: number[] = [];
    const series: number[] = [];
    const sample: number[] = [];
    let items = 0;
    for (let r = 0; r < RUNS; r++) {
      attention.push(
        await timed(async () => {
          items = (await c.health.attention({ limit: 50 })).items.length;
        }),
      );
      series.push(await timed(() => c.health.series({ series: 'presence', hours: 24 })));
      sample.push(await timed(() => t.core.health.sample()));
    }
    const result = {
      machine: { cpus: os.cpus().length, node: process.version, loadAverage1m: os.loadavg()[0] },
      nodes: NODES,
      deployments: DEPLOYMENTS,
      targets: DEPLOYMENTS * PER_DEPLOYMENT,
      attentionItems: items,
      runs: RUNS,
      medianMs: {
        attention: Math.round(median(attention)),
        series24h: Math.round(median(series)),
        sample: Math.round(median(sample)),
      },
    };
    fs.mkdirSync(path.join(here, 'results'), { recursive: true });
    fs.writeFileSync(path.join(here, 'results', 'fleet-health.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result));
  } finally {
    await t.stop();
  }
});
