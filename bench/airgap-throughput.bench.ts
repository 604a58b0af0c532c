import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { BundleJob, ClientOf, Contract } from '../lib/contract/index.js';
import { edgectl } from '../test/helpers/cli.js';
import { wasmApp } from '../test/fixtures/agent/harness.js';
import { startPair, waitJob } from '../core/bundle/testing/pair.js';

// The air gap end to end in two real control planes (core/bundle/testing/pair.ts: HQ role co, an
// air-gapped site role lo with its site registry): a deployment at HQ of an application whose WASM
// module is 512 MiB (in a real docker-registry HQ reaches), then `bundle export` at HQ (the artifact
// from HQ's cache, the git range, the applications; signed, fsynced) and `bundle import` at the site
// (the signature, every blob hashed once while staged, the registry, the mirror, the database), each
// compared with `sha256sum` + `cp` + `sync` of the same bundle file measured in the same run. The ratio
// is baseline seconds over ours (the goal: at least 0.7). The first export also fetches the
// module from its registry: reported apart. Writes bench/results/airgap-throughput.json.

const here = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const MODULE_BYTES = 512 * MiB;
const RUNS = 3;
const GOAL = 0.7;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (n: number) => Math.round(n * 100) / 100;

/** A job timed from its start to its end as the caller sees it (polling its state). */
async function timedJob(
  c: ClientOf<Contract>,
  start: () => Promise<BundleJob>,
): Promise<{ job: BundleJob; seconds: number }> {
  const t = performance.now();
  const job = await waitJob(c, await start(), 1_800_000);
  const seconds = (performance.now() - t) / 1000;
  expect(job.error, job.error?.message).toBeNull();
  return { job, seconds };
}

/**
 * `sha256sum FILE` + `cp FILE DIR/` + `sync -f`: the same bytes read, hashed and written by the tools;
 * `openssl dgst -sha256` too (it uses the CPU's SHA instructions, as Node's hashing does, where
 * coreutils may not), so the ratio is not flattered by a slow sha256sum.
 */
function baselineSeconds(file: string, dir: string): { sha256sum: number; openssl: number; copy: number } {
  let t = performance.now();
  execFileSync('sha256sum', [file], { stdio: 'ignore' });
  const sha256sum = (performance.now() - t) / 1000;
  t = performance.now();
  execFileSync('openssl', ['dgst', '-sha256', file], { stdio: 'ignore' });
  const openssl = (performance.now() - t) / 1000;
  const copy = path.join(dir, 'copy.tar');
  t = performance.now();
  execFileSync('cp', [file, copy]);
  execFileSync('sync', ['-f', copy]);
  const copySeconds = (performance.now() - t) / 1000;
  fs.rmSync(copy);
  return { sha256sum, openssl, copy: copySeconds };
}

it('exports and imports a 512 MiB air-gap bundle between two control planes', async () => {
  const pair = await startPair();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-airgap-'));
  try {
    const h = pair.hq.core.client();
    const s = pair.site.core.client();

    // A 512 MiB module (random bytes after the WASM magic: incompressible, not run here).
    const module = path.join(tmp, 'big.wasm');
    const fh = fs.openSync(module, 'w');
    fs.writeSync(fh, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    for (let written = 8; written < MODULE_BYTES;) {
      const chunk = crypto.randomBytes(Math.min(8 * MiB, MODULE_BYTES - written));
      fs.writeSync(fh, chunk);
      written += chunk.length;
    }
    fs.closeSync(fh);
    const pushed = await edgectl(
      ['oci', 'push', module, `${pair.origin.host}/samples/big:1.0.0`, '--plain-http'],
      { timeoutMs: 600_000 },
    );
    expect(pushed.code, pushed.stderr).toBe(0);
    fs.rmSync(module);
    const app = wasmApp({ id: 'big', version: '1.0.0', repository: `oci://${pair.origin.host}/samples/big` });
    await h.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: app } } });
    await h.deployments.create({ appId: 'big', target: { siteId: 'plant-1' } });

    const out = path.join(tmp, 'drive');
    fs.mkdirSync(out);
    // The first export fetches the module from its registry into HQ's artifact cache.
    const first = await timedJob(h, () => h.bundle.export({ siteId: 'plant-1', out, full: true }));
    const bundleFile = first.job.result!.file!;
    const bundleBytes = fs.statSync(bundleFile).size;
    expect(bundleBytes).toBeGreaterThan(500 * 1000 * 1000);

    const exportSeconds: number[] = [];
    const baseline: ReturnType<typeof baselineSeconds>[] = [];
    for (let i = 0; i < RUNS; i++) {
      const e = await timedJob(h, () => h.bundle.export({ siteId: 'plant-1', out, full: true }));
      exportSeconds.push(e.seconds);
      fs.rmSync(e.job.result!.file!);
      baseline.push(baselineSeconds(bundleFile, tmp));
    }

    // The import into a site whose registry lacks the module: once (a second import of the same
    // content would find its blobs already there).
    const imported = await timedJob(s, () => s.bundle.import({ file: bundleFile }));
    expect(imported.job.result?.report?.changes.artifacts.newBytes).toBeGreaterThan(500 * 1000 * 1000);
    const importSeconds = imported.seconds;

    const base = median(baseline.map((b) => b.sha256sum + b.copy));
    const opensslBase = median(baseline.map((b) => b.openssl + b.copy));
    const exportMedian = median(exportSeconds);
    const result = {
      what: 'bundle export at HQ (role co) and bundle import at an air-gapped site (role lo) of a WASM application with a 512 MiB module, two real control planes, against sha256sum + cp + sync of the bundle file in the same run',
      units:
        'MB = 10^6 bytes, seconds of wall-clock time from the request to the job end; ratios are baseline seconds / our seconds',
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
        loadAverage: os.loadavg().map(round),
      },
      bundleBytes,
      goal: GOAL,
      firstExport: {
        what: 'fetches the module from its registry (docker-registry on loopback) into the cache, then writes',
        seconds: round(first.seconds),
        MBps: round(bundleBytes / 1e6 / first.seconds),
      },
      export: {
        runs: RUNS,
        seconds: round(exportMedian),
        MBps: round(bundleBytes / 1e6 / exportMedian),
        vsBaseline: round(base / exportMedian),
      },
      import: {
        runs: 1,
        seconds: round(importSeconds),
        MBps: round(bundleBytes / 1e6 / importSeconds),
        vsBaseline: round(base / importSeconds),
      },
      baseline: {
        what: 'sha256sum of the bundle file + cp of it + sync -f, median of the runs',
        seconds: round(base),
        MBps: round(bundleBytes / 1e6 / base),
      },
      opensslBaseline: {
        what: 'openssl dgst -sha256 of the bundle file + the same cp + sync, median of the runs',
        seconds: round(opensslBase),
        exportVs: round(opensslBase / exportMedian),
        importVs: round(opensslBase / importSeconds),
      },
      meetsGoal: base / exportMedian >= GOAL && base / importSeconds >= GOAL,
      all: {
        exportSeconds: exportSeconds.map(round),
        baselineSeconds: baseline.map((b) => ({
          sha256sum: round(b.sha256sum),
          openssl: round(b.openssl),
          copy: round(b.copy),
        })),
      },
      date: new Date().toISOString(),
    };
    fs.mkdirSync(path.join(here, 'results'), { recursive: true });
    fs.writeFileSync(
      path.join(here, 'results', 'airgap-throughput.json'),
      JSON.stringify(result, null, 2) + '\n',
    );
    console.log(JSON.stringify(result, null, 2));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    await pair.stop();
  }
}, 3_600_000);
