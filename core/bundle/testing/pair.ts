import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { expect } from 'vitest';
import { systemClock, type Clock } from '../../../lib/base/index.js';
import type { BundleJob, ClientOf, Contract } from '../../../lib/contract/index.js';
import { startTestCore } from '../../../test/helpers/core.js';
import { enrollOverMmi } from '../../../test/helpers/enroll.js';
import { createMmiClient, type MmiTestClient } from '../../../test/helpers/mmi-client.js';
import { startRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import { edgectl } from '../../../test/helpers/cli.js';
import { capabilitiesFor } from '../../../test/fixtures/margo.js';
import { compileHello, wasmApp } from '../../../test/fixtures/agent/harness.js';
import { waitFor } from '../../../test/helpers/wait.js';

/** Waits for a bundle job to end (generous deadline; never a fixed sleep). */
export function waitJob(c: ClientOf<Contract>, job: BundleJob, timeoutMs = 120_000): Promise<BundleJob> {
  return waitFor(
    async () => {
      const j = await c.bundle.job({ id: job.id });
      return j.state !== 'running' && j;
    },
    { what: `job ${job.id} (${job.label}) to end`, timeoutMs },
  );
}

/** A clock that can be moved (HQ making a bundle in the past, to carry an expired one). */
export function shiftableClock(): Clock & { shift(ms: number): void } {
  let offset = 0;
  return {
    now: () => systemClock.now() + offset,
    monotonic: () => systemClock.monotonic(),
    shift(ms: number) {
      offset = ms;
    },
  };
}

export type TestCore = Awaited<ReturnType<typeof startTestCore>>;

export interface Pair {
  hq: TestCore;
  site: TestCore;
  hqClock: ReturnType<typeof shiftableClock>;
  origin: TestRegistry;
  mmi: MmiTestClient;
  /** A folder standing in for the drive. */
  drive: string;
  deploymentId: string;
  stop(): Promise<void>;
}

/**
 * HQ (role co) and an air-gapped site (role lo, with its site registry) on two homes, trust exchanged,
 * the site's node known at HQ from a status bundle, and a deployment of a WASM application (module in a
 * real registry HQ can reach) made at HQ for it. Nothing has gone down to the site yet.
 */
export async function startPair(): Promise<Pair> {
  const drive = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-drive-'));
  const origin = await startRegistry();
  const hqClock = shiftableClock();
  const wasm = await compileHello('hello from the bundle', drive, 'hello');
  const pushed = await edgectl(['oci', 'push', wasm, `${origin.host}/samples/hello:1.0.0`, '--plain-http']);
  expect(pushed.code, pushed.stderr).toBe(0);
  fs.rmSync(wasm);
  const hq = await startTestCore({
    clock: hqClock,
    overrides: { role: 'co', airgap: { drives: { enabled: false } } },
  });
  const site = await startTestCore({
    overrides: {
      role: 'lo',
      site: { id: 'plant-1', name: 'Plant 1' },
      mmi: { enabled: true },
      registry: { enabled: true },
      airgap: { drives: { enabled: false } },
    },
  });
  const h = hq.core.client();
  const s = site.core.client();
  await s.bundle.trustAdd({ publicKey: (await h.bundle.exportKey({})).publicKey, name: 'hq' });
  await h.sites.add({ id: 'plant-1', airGapped: true });
  await h.sites.add({ id: 'plant-2', airGapped: true });
  await h.bundle.trustAdd({
    publicKey: (await s.bundle.exportKey({})).publicKey,
    name: 'plant-1',
    siteId: 'plant-1',
  });
  const t = await s.identity.createEnrollToken({ node: 'edge-1', siteId: 'plant-1', ttlMinutes: 10 });
  const e = await enrollOverMmi(site.core.lo.mmiUrl()!, t);
  const mmi = createMmiClient({
    baseUrl: site.core.lo.mmiUrl()!,
    certPem: e.certPem,
    keyPem: e.keyPem,
    anchorsPem: e.anchorsPem,
  });
  expect((await mmi.put('/api/v1/capabilities/edge-1', capabilitiesFor('edge-1'))).status).toBe(201);
  const status = await waitJob(s, await s.bundle.exportStatus({ out: drive }));
  expect(status.error).toBeNull();
  const imported = await waitJob(h, await h.bundle.import({ file: status.result!.file! }));
  expect(imported.error).toBeNull();
  const app = wasmApp({ id: 'hello', version: '1.0.0', repository: `oci://${origin.host}/samples/hello` });
  await h.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: app } } });
  const d = await h.deployments.create({ appId: 'hello', target: { siteId: 'plant-1' } });
  return {
    hq,
    site,
    hqClock,
    origin,
    mmi,
    drive,
    deploymentId: d.id,
    async stop() {
      mmi.close();
      await site.stop();
      await hq.stop();
      await origin.stop();
      fs.rmSync(drive, { recursive: true, force: true });
    },
  };
}

/**
 * Columns the server moves by itself whatever an import does: the LO follower's bookkeeping of when it
 * last looked at its source (it looks on a timer). What it serves (`commit`, `adopted_at`) is compared.
 */
const CLOCK_COLUMNS: Record<string, string[]> = { lo_sources: ['checked_at', 'updated_at'] };

/** Every row of every table but the append-only audit log, in a stable order (Buffers as hex). */
export function databaseState(sqlite: Database.Database, skip: string[] = ['audit']): string {
  const tables = (
    sqlite.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as {
      name: string;
    }[]
  )
    .map((t) => t.name)
    .filter((n) => !skip.includes(n) && n !== 'sqlite_sequence');
  const out: Record<string, unknown[]> = {};
  for (const t of tables)
    out[t] = sqlite
      .prepare(`SELECT * FROM "${t}" ORDER BY rowid`)
      .all()
      .map((r) =>
        Object.fromEntries(
          Object.entries(r as Record<string, unknown>)
            .filter(([k]) => !CLOCK_COLUMNS[t]?.includes(k))
            .map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v]),
        ),
      );
  return JSON.stringify(out);
}

/** Every file under `dir` with its size and sha256 (folders too), sorted. */
export function treeState(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) {
        out.push(`${rel}/`);
        walk(p);
      } else if (e.isFile())
        out.push(`${rel} ${crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
      else out.push(`${rel} (${e.isSymbolicLink() ? 'link' : 'other'})`);
    }
  };
  walk(dir);
  return out.sort();
}

/** The site as a refused import must leave it: the database, the mirror, the site registry, no staging. */
export function siteState(site: TestCore): {
  db: string;
  mirror: string[];
  registry: string[];
  staging: string[];
} {
  return {
    db: databaseState(site.core.store.sqlite),
    mirror: treeState(site.core.paths.mirrorsDir),
    registry: treeState(path.join(site.home, 'registry')),
    staging: treeState(path.join(site.home, 'bundles', 'staging')),
  };
}

/** Audit entries of an action (the append-only log a refusal is recorded in). */
export function auditOf(
  sqlite: Database.Database,
  action: string,
): { result: string; errorCode: string | null }[] {
  return sqlite
    .prepare('SELECT result, error_code AS errorCode FROM audit WHERE action = ? ORDER BY seq')
    .all(action) as { result: string; errorCode: string | null }[];
}
