import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { generateKeyPair, keySigner, stageBundle, verifyBundle, writeBundle } from '../lib/bundle/index.js';

// Writes, verifies and stages (verify + extract, fsynced) a 512 MiB bundle made of a few large and
// many small blobs, and compares each with the same work done by hand on the same bytes in the same
// run: `sha256sum` of the blob files plus `cp` + `sync` of them. The ratio is baseline seconds over
// ours (above 1: faster than the tools). While the writer runs, the event loop's delay is sampled:
// hashing on streams, a chunk at a time, must leave a server able to answer. Writes
// bench/results/bundle-throughput.json.

const here = path.dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const LARGE = [256 * MiB, 160 * MiB, 64 * MiB];
const SMALL_COUNT = 200;
const SMALL = 160 * 1024; // 200 x 160 KiB = 31.25 MiB: manifests, configs, small layers
const RUNS = 5;
const GOAL = 0.7;
const LAG_RESOLUTION_MS = 2;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function seconds(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

async function secondsAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

it('writes and verifies a 512 MiB bundle at least 0.7 times as fast as sha256sum + cp', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-bundle-'));
  try {
    const src = path.join(tmp, 'src');
    fs.mkdirSync(src);
    const files: string[] = [];
    const chunk = crypto.randomBytes(8 * MiB);
    LARGE.forEach((size, i) => {
      const f = path.join(src, `layer-${i}.bin`);
      const fd = fs.openSync(f, 'w');
      for (let at = 0; at < size; at += chunk.length) {
        chunk.writeUInt32LE(at + i, 0); // no two chunks alike, so no blob deduplicates
        fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - at));
      }
      fs.closeSync(fd);
      files.push(f);
    });
    for (let i = 0; i < SMALL_COUNT; i++) {
      const f = path.join(src, `small-${i}.bin`);
      fs.writeFileSync(f, crypto.randomBytes(SMALL));
      files.push(f);
    }
    const totalBytes = files.reduce((n, f) => n + fs.statSync(f).size, 0);
    const key = generateKeyPair();
    const trust = { keys: [{ publicKey: key }] };
    const blobs = files.map((f) => ({ role: 'oci-blob', source: { file: f } }));
    const header = {
      kind: 'hq-to-site' as const,
      source: 'hq',
      target: 'site-a',
      sequence: 1,
      expires: new Date(Date.now() + 86_400_000),
    };

    // Ours and the baseline alternate within each run, so a busy machine (shared CI cores) weighs
    // on both alike; medians of the runs.
    const writes: number[] = [];
    const verifies: number[] = [];
    const stages: number[] = [];
    const shas: number[] = [];
    const openssl: number[] = [];
    const copies: number[] = [];
    const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    let bundleBytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const file = path.join(tmp, `bundle-${i}.outpost.tar`);
      if (i === 0) lag.enable();
      writes.push(
        await secondsAsync(async () => {
          bundleBytes = (await writeBundle({ file, header, blobs, signer: keySigner(key) })).size;
        }),
      );
      if (i === 0) lag.disable();
      verifies.push(await secondsAsync(() => verifyBundle({ source: file, trust })));
      const staging = path.join(tmp, `staging-${i}`);
      stages.push(
        await secondsAsync(async () => {
          await stageBundle({ source: file, trust, stagingDir: staging });
          execFileSync('sync', ['-f', staging]); // made durable the way the baseline's copy is
        }),
      );
      fs.rmSync(staging, { recursive: true });
      fs.rmSync(file);

      const dest = path.join(tmp, `copy-${i}`);
      fs.mkdirSync(dest);
      shas.push(seconds(() => execFileSync('sha256sum', files, { stdio: 'ignore', maxBuffer: 64 * MiB })));
      // OpenSSL's SHA-256 (what Node uses) is much faster here than coreutils' own: a second,
      // stricter baseline.
      openssl.push(
        seconds(() => execFileSync('openssl', ['dgst', '-sha256', ...files], { stdio: 'ignore' })),
      );
      copies.push(
        seconds(() => {
          execFileSync('cp', [...files, dest]);
          execFileSync('sync', ['-f', dest]);
        }),
      );
      fs.rmSync(dest, { recursive: true });
    }

    const mb = totalBytes / 1e6;
    const sha = median(shas);
    const baseline = sha + median(copies);
    const write = median(writes);
    const verify = median(verifies);
    const stage = median(stages);
    const result = {
      what: `writeBundle, verifyBundle and stageBundle (then sync -f) of ${LARGE.length} large + ${SMALL_COUNT} small blobs from files, against sha256sum + cp + sync of the same files, median of ${RUNS} runs`,
      units: 'MB = 10^6 bytes, seconds of wall-clock time; ratios are baseline seconds / our seconds',
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
        loadAverage: os.loadavg().map(round),
      },
      blobBytes: totalBytes,
      bundleBytes,
      blobs: files.length,
      runs: RUNS,
      goal: GOAL,
      write: { seconds: round(write), MBps: round(mb / write), vsBaseline: round(baseline / write) },
      stage: { seconds: round(stage), MBps: round(mb / stage), vsBaseline: round(baseline / stage) },
      verify: { seconds: round(verify), MBps: round(mb / verify), vsSha256sum: round(sha / verify) },
      baseline: {
        what: 'sha256sum of the blob files + cp of them into a folder + sync',
        sha256sumSeconds: round(sha),
        copySeconds: round(median(copies)),
        MBps: round(mb / baseline),
      },
      opensslBaseline: {
        what: 'openssl dgst -sha256 of the blob files + the same cp + sync',
        sha256Seconds: round(median(openssl)),
        writeVs: round((median(openssl) + median(copies)) / write),
        stageVs: round((median(openssl) + median(copies)) / stage),
      },
      eventLoopDelayWhileWritingMs: {
        what: `how late a timer due every ${LAG_RESOLUTION_MS} ms fired while the first bundle was written`,
        p50: round(Math.max(0, lag.percentile(50) / 1e6 - LAG_RESOLUTION_MS)),
        p99: round(Math.max(0, lag.percentile(99) / 1e6 - LAG_RESOLUTION_MS)),
        max: round(Math.max(0, lag.max / 1e6 - LAG_RESOLUTION_MS)),
      },
      meetsGoal: baseline / write >= GOAL && baseline / stage >= GOAL,
      all: {
        writeSeconds: writes.map(round),
        verifySeconds: verifies.map(round),
        stageSeconds: stages.map(round),
      },
      date: new Date().toISOString(),
    };
    fs.mkdirSync(path.join(here, 'results'), { recursive: true });
    fs.writeFileSync(
      path.join(here, 'results', 'bundle-throughput.json'),
      JSON.stringify(result, null, 2) + '\n',
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
