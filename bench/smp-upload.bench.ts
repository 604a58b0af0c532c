import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { openSerialSmp } from '../lib/smp/index.js';
import { startSmpDevice } from '../test/helpers/smp-device.js';

// Uploads a file with the SMP client over a socat PTY pair to the device simulator, which takes the
// time a 115200-baud UART (10 bits a byte) would in both directions. Reports how busy the client
// keeps the line it sends on (bytes written / (seconds x 11520 B/s), the goal is >= 0.8), and the
// file's payload rate against the same capacity (bounded by base64 and framing to 93/127 = 0.73).
// Two device configurations: Zephyr's default receive buffer (384 B) and the 1024 B the Ocre
// firmware notes recommend. Writes bench/results/smp-upload.json.

const here = path.dirname(fileURLToPath(import.meta.url));
const BAUD = 115200;
const CAPACITY = BAUD / 10;
const SIZE = 64 * 1024;

async function run(bufSize: number, data: Buffer) {
  const dev = await startSmpDevice([
    '--baud',
    String(BAUD),
    '--buf-size',
    String(bufSize),
    '--quiet',
    '--no-prompt',
  ]);
  const client = await openSerialSmp({ path: dev.port, baudRate: BAUD, timeoutMs: 5000 });
  try {
    await client.fs.bufSize();
    const before = client.stats();
    const t = performance.now();
    const r = await client.fs.upload('/lfs/bench.bin', data, { resume: false, verify: false });
    const seconds = (performance.now() - t) / 1000;
    const after = client.stats();
    const wireBytes = after.bytesSent - before.bytesSent;
    return {
      deviceBufSize: bufSize,
      seconds: round(seconds),
      requests: r.requests,
      retries: after.retries - before.retries,
      bytesOnTheLine: wireBytes,
      lineUtilisation: round(wireBytes / (seconds * CAPACITY)),
      payloadBytesPerSecond: Math.round(data.length / seconds),
      payloadRatio: round(data.length / (seconds * CAPACITY)),
    };
  } finally {
    await client.close();
    await dev.stop();
  }
}

it('uploads 64 KiB over a PTY at 115200 baud', async () => {
  const data = crypto.randomBytes(SIZE);
  const runs = [await run(384, data), await run(1024, data)];
  const result = {
    what: 'fs upload of 64 KiB with the SMP client to the device simulator on a socat PTY pair, UART timing emulated at 115200 baud',
    units: 'seconds of wall-clock time; ratios of the line capacity baud/10 bytes per second',
    goal: 'lineUtilisation >= 0.8 (the client keeps the line busy); payloadRatio cannot exceed 93/127 = 0.73 (base64 + framing)',
    machine: {
      cpus: os.cpus().length,
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
    },
    baud: BAUD,
    sizeBytes: SIZE,
    runs,
    date: new Date().toISOString(),
  };
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', 'smp-upload.json'), JSON.stringify(result, null, 2) + '\n');
});

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
