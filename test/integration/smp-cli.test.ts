import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGECTL, edgectl } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { startPtyPair, startSmpDevice, type SmpDevice } from '../helpers/smp-device.js';
import { buildMcubootImage } from '../../lib/smp/testing/mcuboot-image.js';

// Every `edgectl smp` command through the built CLI, against the device simulator on one end of
// a real PTY pair (socat). The simulator emulates a UART at 1 Mbaud, the CLI paces for the same.
const BAUD = ['--baud', '1000000'];
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('edgectl smp against a simulated Ocre board on a PTY', () => {
  const { home, cleanup } = tempHome('outpost-smp-cli-');
  let dev: SmpDevice;
  // Options go before a `--`: what follows it is the device command.
  const smp = (...args: string[]) => {
    const at = args.includes('--') ? args.indexOf('--') : args.length;
    return edgectl(['smp', ...args.slice(0, at), '--port', dev.port, ...BAUD, ...args.slice(at)], {
      timeoutMs: 120_000,
    });
  };
  const wasm = Buffer.concat([Buffer.from('\0asm\x01\0\0\0'), crypto.randomBytes(5000)]);

  beforeAll(async () => {
    dev = await startSmpDevice(['--baud', '1000000']);
    fs.writeFileSync(path.join(home, 'app.wasm'), wasm);
  });
  afterAll(async () => {
    await dev?.stop();
    cleanup();
  });

  it('echo and info', async () => {
    const echo = await smp('echo', 'hello board');
    expect(echo).toMatchObject({ code: 0, stdout: 'hello board\n', stderr: '' });
    const json = JSON.parse((await smp('echo', 'x', '-o', 'json')).stdout) as {
      text: string;
      roundTripMs: number;
    };
    expect(json.text).toBe('x');
    const info = await smp('info');
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^board: +native_sim$/m);
    expect(info.stdout).toMatch(/^firmware: +1\.0\.0$/m);
    expect(info.stdout).toMatch(/^mcumgr buffer: +384 bytes x 4$/m);
    const infoJson = JSON.parse((await smp('info', '-o', 'json')).stdout) as Record<string, unknown>;
    expect(infoJson).toMatchObject({
      kernel: 'Zephyr',
      board: 'native_sim',
      mcumgr: { bufSize: 384, bufCount: 4 },
    });
  }, 180_000); // several edgectl processes, each a Node start: sized for a loaded machine

  it('upload, download and exec of the ocre shell', async () => {
    const up = await smp('upload', path.join(home, 'app.wasm'), '/lfs/ocre/images/app.wasm');
    expect(up.code).toBe(0);
    expect(up.stdout).toContain("checked by the device's SHA-256");
    const again = await smp('upload', path.join(home, 'app.wasm'), '/lfs/ocre/images/app.wasm');
    expect(again.stdout).toMatch(/already up to date/);
    const back = path.join(home, 'back.wasm');
    const down = await smp('download', '/lfs/ocre/images/app.wasm', back, '-o', 'json');
    expect(JSON.parse(down.stdout)).toMatchObject({
      size: wasm.length,
      sha256: sha(wasm),
      verified: 'sha256',
    });
    expect(sha(fs.readFileSync(back))).toBe(sha(wasm));

    const run = await smp('exec', '--', 'ocre', 'run', '-d', '-n', 'app1', '-k', 'ocre:api', 'app.wasm');
    expect(run, run.stderr).toMatchObject({ code: 0, stdout: 'app1\n' });
    const ps = await smp('exec', '--', 'ocre', 'ps');
    expect(ps.stdout).toBe('ID\tSTATUS\tIMAGE\napp1\tRUNNING\tapp.wasm\n');
    const images = await smp('exec', '-o', 'json', '--', 'ocre', 'images');
    expect(JSON.parse(images.stdout)).toMatchObject({
      ret: 0,
      output: expect.stringContaining(`${sha(wasm)}\t${wasm.length}\tapp.wasm`),
    });
    const bad = await smp('exec', '--', 'ocre', 'run', '-n', 'app2', 'missing.wasm');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('Failed to create container\n');
    expect(bad.stderr).toBe('edgectl: "ocre run -n app2 missing.wasm" returned -1 on the device\n');

    const missing = await smp('download', '/lfs/nope.bin', path.join(home, 'nope.bin'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'edgectl: download of /lfs/nope.bin at 0: the device answered fs error file not found (group 8 rc 3 FILE_NOT_FOUND)\n',
    );
    const noMount = await smp('upload', path.join(home, 'app.wasm'), '/flash/app.wasm');
    expect(noMount.stderr).toContain('(group 8 rc 14 MOUNT_POINT_NOT_FOUND)');
  }, 180_000); // several edgectl processes, each a Node start: sized for a loaded machine

  it('reset loses the Ocre container list (it lives in RAM)', async () => {
    expect((await smp('exec', '--', 'ocre', 'ps')).stdout).toContain('app1');
    const reset = await smp('reset');
    expect(reset).toMatchObject({ code: 0, stdout: `${dev.port}: reset requested\n` });
    await dev.waitFor((e) => e.event === 'reset' && e.reason === 'command');
    expect((await smp('exec', '--', 'ocre', 'ps')).stdout).toBe('ID\tSTATUS\tIMAGE\n');
  });

  it('unplug: a command in flight fails with one line; after replug the files are there, the containers not', async () => {
    expect((await smp('exec', '--', 'ocre', 'run', '-d', '-n', 'w1', 'app.wasm')).code).toBe(0);
    const seen = dev.events.length;
    const waiting = smp('exec', '--timeout', '60', '--', 'ocre', 'container', 'wait', 'w1');
    // The device has the request (and blocks in ocre_container_wait) before the cable goes.
    await dev.waitFor((e) => e.event === 'request' && e.group === 9 && dev.events.indexOf(e) >= seen);
    await dev.unplug();
    const cut = await waiting;
    expect(cut).toMatchObject({ code: 3, stderr: 'edgectl: the serial port closed (device unplugged?)\n' });
    const gone = await smp('echo', 'hi');
    expect(gone.code).toBe(5);
    await dev.replug();
    expect((await smp('echo', 'back')).stdout).toBe('back\n');
    expect((await smp('exec', '--', 'ocre', 'ps')).stdout).toBe('ID\tSTATUS\tIMAGE\n');
    expect((await smp('exec', '--', 'ocre', 'images')).stdout).toContain('app.wasm');
  }, 180_000); // several edgectl processes, each a Node start: sized for a loaded machine

  it('image list, upload, test and confirm', async () => {
    const list = await smp('image', 'list');
    expect(list.stdout.split('\n')[0]).toMatch(/^IMAGE +SLOT +VERSION +FLAGS +HASH$/);
    expect(list.stdout).toMatch(/^0 +0 +1\.0\.0 +active,confirmed +[0-9a-f]{64}$/m);
    const file = path.join(home, 'fw.bin');
    fs.writeFileSync(file, buildMcubootImage({ version: '1.1.0', payload: crypto.randomBytes(8000) }));
    const up = await smp('image', 'upload', file);
    expect(up.code).toBe(0);
    expect(up.stdout).toMatch(
      /^uploaded .*fw\.bin \(version 1\.1\.0, \d+ bytes\) to slot 1, checked by the device's SHA-256$/m,
    );
    const test = await smp('image', 'test');
    expect(test.stdout).toMatch(/^0 +1 +1\.1\.0 +pending +[0-9a-f]{64}$/m);
    dev.send({ op: 'reset' });
    await dev.waitFor((e) => e.event === 'reset' && e.reason === 'external');
    const booted = JSON.parse((await smp('image', 'list', '-o', 'json')).stdout) as {
      slot: number;
      version: string;
      active: boolean;
      confirmed: boolean;
    }[];
    expect(booted[0]).toMatchObject({ slot: 0, version: '1.1.0', active: true, confirmed: false });
    const confirm = await smp('image', 'confirm');
    expect(confirm.stdout).toMatch(/^0 +0 +1\.1\.0 +active,confirmed /m);
    const notImage = await smp('image', 'upload', path.join(home, 'app.wasm'));
    expect(notImage).toMatchObject({
      code: 2,
      stderr: `edgectl: ${path.join(home, 'app.wasm')} is not an MCUboot image (no header magic 0x96f3b83d)\n`,
    });
    const badHash = await smp('image', 'test', 'abc');
    expect(badHash.code).toBe(2);
  }, 180_000); // several edgectl processes, each a Node start: sized for a loaded machine

  it('one-line errors: bad input, no such port, port busy, no answer', async () => {
    const noPort = await edgectl(['smp', 'echo', 'hi']);
    expect(noPort).toMatchObject({
      code: 2,
      stderr: 'edgectl: which device? give --port PATH (or set EDGE_SMP_PORT)\n',
    });
    const badBaud = await edgectl(['smp', 'echo', 'hi', '--port', dev.port, '--baud', 'fast']);
    expect(badBaud.code).toBe(2);
    const gone = await edgectl(['smp', 'echo', 'hi', '--port', path.join(home, 'ttyNONE')]);
    expect(gone).toMatchObject({
      code: 5,
      stderr: `edgectl: ${path.join(home, 'ttyNONE')}: no such serial port (is the device plugged in?)\n`,
    });

    const { SerialPort } = await import('serialport');
    const holder = new SerialPort({ path: dev.port, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => holder.open((e) => (e ? reject(e) : resolve())));
    try {
      const busy = await smp('echo', 'hi');
      expect(busy).toMatchObject({
        code: 3,
        stderr: `edgectl: ${dev.port} is busy: another program has it open (close it, or its terminal)\n`,
      });
    } finally {
      await new Promise<void>((resolve) => holder.close(() => resolve()));
    }

    const silent = await startPtyPair();
    try {
      const r = await edgectl(['smp', 'echo', 'hi', '--port', silent.a, '--timeout', '0.3']);
      expect(r).toMatchObject({
        code: 3,
        stderr:
          'edgectl: echo: no answer from the device within 0.3 s (3 attempts) (is it an SMP device at this port and speed?)\n',
      });
    } finally {
      await silent.stop();
    }
  }, 180_000); // several edgectl processes, each a Node start: sized for a loaded machine
});

describe('edgectl smp upload of 200 KB', () => {
  const { home, cleanup } = tempHome('outpost-smp-big-');
  const big = crypto.randomBytes(200 * 1024);
  const file = path.join(home, 'big.bin');
  beforeAll(() => fs.writeFileSync(file, big));
  afterAll(cleanup);

  it('survives a dropped line: the chunk is sent again and the copy matches', async () => {
    const dev = await startSmpDevice(['--baud', '1000000', '--quiet', '--drop-frame', '400']);
    try {
      const r = await edgectl(
        ['smp', 'upload', file, '/lfs/big.bin', '--port', dev.port, ...BAUD, '--timeout', '1', '-o', 'json'],
        {
          timeoutMs: 180_000,
        },
      );
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({
        size: big.length,
        sha256: sha(big),
        verified: 'sha256',
        resumedFrom: 0,
      });
      expect(dev.events).toContainEqual({ event: 'frame-dropped', reason: 'injected', line: 400 });
      dev.send({ op: 'state' });
      const state = (await dev.waitFor((e) => e.event === 'state')) as {
        files: { name: string; sha256: string }[];
      };
      expect(state.files).toContainEqual(expect.objectContaining({ name: '/lfs/big.bin', sha256: sha(big) }));
    } finally {
      await dev.stop();
    }
  });

  it('resumes after Ctrl-C where the device copy ends', async () => {
    const dev = await startSmpDevice(['--baud', '1000000']);
    try {
      const child = spawn(
        process.execPath,
        [EDGECTL, 'smp', 'upload', file, '/lfs/big.bin', '--port', dev.port, ...BAUD],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      await dev.waitFor((e) => e.event === 'fs-upload' && (e.off as number) > 80 * 1024, 120_000);
      child.kill('SIGINT');
      expect(await exit).toBe(130);
      const stopped = Number(
        /cancelled at (\d+) of 204800 bytes; run the same command again to resume/.exec(stderr)?.[1],
      );
      expect(stopped).toBeGreaterThan(80 * 1024);

      const again = await edgectl(
        ['smp', 'upload', file, '/lfs/big.bin', '--port', dev.port, ...BAUD, '-o', 'json'],
        { timeoutMs: 180_000 },
      );
      expect(again.code).toBe(0);
      const result = JSON.parse(again.stdout) as { resumedFrom: number; sha256: string; verified: string };
      expect(result.resumedFrom).toBeGreaterThanOrEqual(stopped - 1024);
      expect(result).toMatchObject({ sha256: sha(big), verified: 'sha256' });
    } finally {
      await dev.stop();
    }
  });
});
