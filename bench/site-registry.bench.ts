import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { startTestCore } from '../test/helpers/core.js';
import { createRegistryClient } from '../lib/oci/index.js';

// The site registry in a real core: push a 200 MiB blob over its loopback listener (our client, chunked
// uploads: receive, hash, write, fsync, rename), pull it back (fetchBlob), and adopt a staged file the
// way the bundle import does (a rename when it was hashed while staging, else hash then rename). Compared
// with `sha256sum` + `cp` + `sync` of the same file. Writes bench/results/site-registry.json.

const here = path.dirname(fileURLToPath(import.meta.url));
const SIZE = 200 * 1024 * 1024;
const RUNS = 3;
const TOKEN = 'opt_bench-site-registry';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (n: number) => Math.round(n * 100) / 100;
function seconds(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

it('pushes, pulls and adopts a 200 MB blob in the site registry', async () => {
  const t = await startTestCore({ bootstrapToken: TOKEN, overrides: { registry: { enabled: true } } });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-sitereg-'));
  const host = new URL(t.core.registry.loopbackUrl()!).host;
  const client = createRegistryClient({
    plainHttp: true,
    timeoutMs: 120_000,
    credentials: () => ({ username: 'bench', password: TOKEN }),
  });
  try {
    const file = path.join(tmp, 'blob.bin');
    const fh = fs.openSync(file, 'w');
    for (let written = 0; written < SIZE; written += 8 * 1024 * 1024)
      fs.writeSync(fh, crypto.randomBytes(Math.min(8 * 1024 * 1024, SIZE - written)));
    fs.closeSync(fh);
    const digest = `sha256:${execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]}`;
    const store = t.core.registry.requireStore();

    const pushes: number[] = [];
    const pulls: number[] = [];
    let layer = { digest, size: SIZE };
    for (let i = 0; i < RUNS; i++) {
      if (i > 0) {
        await client.close();
        await t.core.registry.gc({ dryRun: false, graceSeconds: 0 }); // the tag is gone below: a real upload again
      }
      const start = performance.now();
      const pushed = await client.push({
        ref: `${host}/bench/blob:${i}`,
        files: [{ path: file, mediaType: 'application/octet-stream' }],
        artifactType: 'application/vnd.outpost.bench.v1',
      });
      pushes.push((performance.now() - start) / 1000);
      layer = pushed.manifest.layers[0]!;
      const dest = path.join(tmp, `pulled-${i}.bin`);
      const p = performance.now();
      await client.fetchBlob(`${host}/bench/blob`, layer, { dest });
      pulls.push((performance.now() - p) / 1000);
      fs.rmSync(dest);
      await store.deleteManifest('bench/blob', `${i}`);
    }

    const adoptVerified: number[] = [];
    const adoptHashed: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const [list, verified] of [
        [adoptVerified, true],
        [adoptHashed, false],
      ] as const) {
        await t.core.registry.gc({ dryRun: false, graceSeconds: 0 });
        const staging = await store.createStagingDir('bench-');
        const staged = path.join(staging, 'blob');
        fs.copyFileSync(file, staged);
        const a = performance.now();
        await store.adoptBlobFile(staged, { digest, size: SIZE, verified });
        list.push((performance.now() - a) / 1000);
        fs.rmSync(staging, { recursive: true, force: true });
      }
    }

    const shas: number[] = [];
    const copies: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dest = path.join(tmp, `copy-${i}.bin`);
      shas.push(seconds(() => execFileSync('sha256sum', [file], { stdio: 'ignore' })));
      copies.push(
        seconds(() => {
          execFileSync('cp', [file, dest]);
          execFileSync('sync', [dest]);
        }),
      );
      fs.rmSync(dest);
    }
    const mb = SIZE / 1e6;
    const baseline = median(shas) + median(copies);
    const result = {
      what: 'one 200 MiB blob through the site registry on 127.0.0.1 (plain HTTP, token auth), median of runs',
      units: 'MB = 10^6 bytes, seconds of wall-clock time',
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
      },
      sizeBytes: SIZE,
      runs: RUNS,
      pushSeconds: round(median(pushes)),
      pushMBps: round(mb / median(pushes)),
      pullSeconds: round(median(pulls)),
      pullMBps: round(mb / median(pulls)),
      adoptVerifiedSeconds: round(median(adoptVerified)),
      adoptHashedSeconds: round(median(adoptHashed)),
      baseline: {
        what: 'sha256sum + cp + sync of the same file',
        sha256sumSeconds: round(median(shas)),
        copySeconds: round(median(copies)),
        MBps: round(mb / baseline),
      },
      pushVsBaseline: round(baseline / median(pushes)),
      pullVsBaseline: round(baseline / median(pulls)),
      date: new Date().toISOString(),
    };
    fs.mkdirSync(path.join(here, 'results'), { recursive: true });
    fs.writeFileSync(
      path.join(here, 'results', 'site-registry.json'),
      JSON.stringify(result, null, 2) + '\n',
    );
  } finally {
    await client.close();
    await t.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}, 600_000);
