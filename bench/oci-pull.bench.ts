import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { startRegistry } from '../test/helpers/registry.js';
import { createRegistryClient } from '../lib/oci/index.js';

// Pulls a 200 MB blob from a loopback docker-registry with fetchBlob (stream, hash, write, fsync,
// rename) and compares it with doing the same work by hand on the file the registry stores:
// `sha256sum` plus a disk copy (`cp` + `sync`). Writes bench/results/oci-pull.json.

const here = path.dirname(fileURLToPath(import.meta.url));
const SIZE = 200 * 1024 * 1024;
const RUNS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function seconds(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

it('pulls a 200 MB blob from the loopback registry', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-oci-'));
  const reg = await startRegistry();
  const client = createRegistryClient({ plainHttp: true, timeoutMs: 120_000 });
  try {
    const file = path.join(tmp, 'blob.bin');
    const fh = fs.openSync(file, 'w');
    for (let written = 0; written < SIZE; written += 8 * 1024 * 1024)
      fs.writeSync(fh, crypto.randomBytes(Math.min(8 * 1024 * 1024, SIZE - written)));
    fs.closeSync(fh);
    const pushStart = performance.now();
    const pushed = await client.push({
      ref: `${reg.host}/bench/blob:1`,
      files: [{ path: file, mediaType: 'application/octet-stream' }],
      artifactType: 'application/vnd.outpost.bench.v1',
    });
    const pushSeconds = (performance.now() - pushStart) / 1000;
    const layer = pushed.manifest.layers[0]!;

    const pulls: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dest = path.join(tmp, `pulled-${i}.bin`);
      const t = performance.now();
      await client.fetchBlob(`${reg.host}/bench/blob`, layer, { dest });
      pulls.push((performance.now() - t) / 1000);
      fs.rmSync(dest);
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
    const pull = median(pulls);
    const baseline = median(shas) + median(copies);
    const result = {
      what: 'fetchBlob of one 200 MiB blob from docker-registry on 127.0.0.1 (plain HTTP), median of runs',
      units: 'MB = 10^6 bytes, seconds of wall-clock time',
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
      },
      sizeBytes: SIZE,
      runs: RUNS,
      pushSeconds: round(pushSeconds),
      pullSeconds: round(pull),
      pullMBps: round(mb / pull),
      baseline: {
        what: 'sha256sum + cp + sync of the same file (the work a pull has to do, without HTTP)',
        sha256sumSeconds: round(median(shas)),
        copySeconds: round(median(copies)),
        MBps: round(mb / baseline),
      },
      pullVsBaseline: round(baseline / pull),
      allPullSeconds: pulls.map(round),
      date: new Date().toISOString(),
    };
    fs.mkdirSync(path.join(here, 'results'), { recursive: true });
    fs.writeFileSync(path.join(here, 'results', 'oci-pull.json'), JSON.stringify(result, null, 2) + '\n');
  } finally {
    await client.close();
    await reg.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
