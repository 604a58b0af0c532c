import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { OutpostError } from '../errors/index.js';
import { createSmpClient, type SmpClientOptions } from './client.js';
import { Op } from './header.js';
import { createMemoryPair } from './testing/memory-pair.js';
import { buildMcubootImage } from './testing/mcuboot-image.js';
import { SmpSimulator, type SimulatorOptions } from './testing/simulator.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function connect(sim: SimulatorOptions = {}, client: SmpClientOptions = {}) {
  const [host, device] = createMemoryPair();
  const simulator = new SmpSimulator(sim);
  simulator.attach(device);
  const consoleLines: string[] = [];
  const c = createSmpClient(host, {
    baudRate: 1_000_000,
    timeoutMs: 1000,
    onConsole: (l) => consoleLines.push(l),
    ...client,
  });
  cleanups.push(() => c.close());
  return { client: c, simulator, consoleLines, host };
}

const sha = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest('hex');
const WASM = Buffer.concat([Buffer.from('\0asm\x01\0\0\0'), crypto.randomBytes(3000)]);

async function rejection(p: Promise<unknown>): Promise<OutpostError> {
  try {
    await p;
  } catch (err) {
    return err as OutpostError;
  }
  throw new Error('expected a rejection');
}

describe('SMP client against the device simulator', () => {
  it('echoes, reads params, info and datetime, and sees console output', async () => {
    const { client, consoleLines } = connect();
    expect(await client.os.echo('hello')).toBe('hello');
    expect(await client.os.echo('y'.repeat(400))).toBe('y'.repeat(400));
    expect(await client.os.params()).toEqual({ bufSize: 384, bufCount: 4 });
    expect(await client.os.info('a')).toBe(
      'Zephyr unknown v4.4.0 4.4.0 Apr 20 2026 12:00:00 posix native native_sim Zephyr',
    );
    const noClock = await rejection(client.os.datetime());
    expect(noClock.message).toContain('RTC_NOT_SET');
    await client.os.setDatetime('2026-05-01T10:00:00');
    expect(await client.os.datetime()).toMatch(/^2026-05-01T10:00:0\d$/);
    expect(consoleLines).toContain('*** Booting Zephyr OS build v4.4.0 ***');
  });

  it('falls back to the original protocol when the device does not speak SMP version 2', async () => {
    const { client } = connect({ supportsV2: false });
    expect(await client.os.echo('old')).toBe('old');
    expect((await rejection(client.fs.stat('/lfs/nope'))).data).toMatchObject({ rc: 5, name: 'ENOENT' });
  });

  it('maps device errors to clear messages with the rc', async () => {
    const { client } = connect();
    const unknown = await rejection(client.request(Op.read, 70, 0, {}, { what: 'request to group 70' }));
    expect(unknown.code).toBe('smp/device-error');
    expect(unknown.message).toBe(
      'request to group 70: the device answered not supported (unknown group or command) (rc 8 ENOTSUP)',
    );
    const badInfo = await rejection(client.os.info('xyz'));
    expect(badInfo.message).toContain('group 0 rc 2 INVALID_FORMAT');
    const missing = await rejection(client.fs.stat('/lfs/nope'));
    expect(missing.data).toMatchObject({ rc: 3, group: 8, name: 'FILE_NOT_FOUND' });
    const v1 = connect({}, { version: 0 }).client;
    expect((await rejection(v1.fs.stat('/lfs/nope'))).data).toMatchObject({ rc: 5, name: 'ENOENT' });
  });

  it('uploads, verifies with the device hash, downloads, and skips an identical file', async () => {
    const { client, simulator } = connect();
    const progress: number[] = [];
    const up = await client.fs.upload('/lfs/ocre/images/app.wasm', WASM, {
      onProgress: (p) => progress.push(p.done),
    });
    expect(up).toMatchObject({
      size: WASM.length,
      sha256: sha(WASM),
      resumedFrom: 0,
      upToDate: false,
      verified: 'sha256',
    });
    expect(progress[progress.length - 1]).toBe(WASM.length);
    expect(sha(simulator.fs.read('/lfs/ocre/images/app.wasm')!)).toBe(sha(WASM));
    const down = await client.fs.download('/lfs/ocre/images/app.wasm');
    expect(down.data.equals(WASM)).toBe(true);
    expect(down.verified).toBe('sha256');
    const again = await client.fs.upload('/lfs/ocre/images/app.wasm', WASM);
    expect(again).toMatchObject({ upToDate: true, requests: 0 });
  });

  it('resumes an interrupted upload where the device copy ends', async () => {
    const { client, simulator } = connect();
    const ac = new AbortController();
    const err = await rejection(
      client.fs.upload('/lfs/big.bin', WASM, {
        signal: ac.signal,
        onProgress: (p) => p.done > 1500 && ac.abort(),
      }),
    );
    expect(err.code).toBe('cancelled');
    const partial = simulator.fs.read('/lfs/big.bin')!.length;
    expect(partial).toBeGreaterThan(1500);
    expect(partial).toBeLessThan(WASM.length);
    const done = await client.fs.upload('/lfs/big.bin', WASM);
    expect(done).toMatchObject({ resumedFrom: partial, verified: 'sha256' });
    expect(simulator.fs.read('/lfs/big.bin')!.equals(WASM)).toBe(true);
    // A different file under that name is not resumed.
    const other = Buffer.from(WASM);
    other[10] = other[10]! ^ 1;
    expect((await client.fs.upload('/lfs/big.bin', other)).resumedFrom).toBe(0);
  });

  it('retries a request whose frame was lost, and slows down', async () => {
    const { client, simulator } = connect({}, { timeoutMs: 300 });
    simulator.dropNextFrames(1);
    expect(await client.os.echo('x'.repeat(300))).toBe('x'.repeat(300));
    expect(client.stats()).toMatchObject({ retries: 1, timeouts: 1 });
    expect(client.stats().extraGapMs).toBeGreaterThan(0);
  });

  it('continues an upload after a lost answer (rc 11 tells where the device is)', async () => {
    const { client, simulator } = connect({}, { timeoutMs: 300 });
    let chunks = 0;
    const original = simulator['respond'].bind(simulator);
    // Lose the device's answer to the third chunk: the retry then hits rc 11 with the real offset.
    simulator['respond'] = (h: Parameters<typeof original>[0], body: Parameters<typeof original>[1]) => {
      if (h.group === 8 && h.command === 0 && ++chunks === 3) return;
      original(h, body);
    };
    const up = await client.fs.upload('/lfs/a.bin', WASM);
    expect(up.verified).toBe('sha256');
    expect(simulator.fs.read('/lfs/a.bin')!.equals(WASM)).toBe(true);
  });

  it('says no answer after its retries when nothing listens', async () => {
    const [host] = createMemoryPair();
    const client = createSmpClient(host, { timeoutMs: 50, retries: 1 });
    cleanups.push(() => client.close());
    const err = await rejection(client.os.echo('hi'));
    expect(err.code).toBe('smp/no-answer');
    expect(err.message).toBe(
      'echo: no answer from the device within 0.1 s (2 attempts) (is it an SMP device at this port and speed?)',
    );
    // A shell command is never sent twice.
    const exec = await rejection(client.shell.exec(['ocre', 'ps']));
    expect(exec.message).toMatch(/^shell "ocre ps": no answer from the device within 0\.1 s \(is it/);
  });

  it('runs ocre commands through the shell group and sees the container list vanish on reset', async () => {
    const { client, simulator } = connect();
    await client.fs.upload('/lfs/ocre/images/app.wasm', WASM);
    const run = await client.shell.exec(['ocre', 'run', '-d', '-n', 'app1', '-k', 'ocre:api', 'app.wasm']);
    expect(run).toEqual({ ret: 0, output: '\r\napp1\r\n', console: [] });
    expect((await client.shell.exec(['ocre', 'ps'])).output).toBe(
      '\r\nID\tSTATUS\tIMAGE\r\napp1\tRUNNING\tapp.wasm\r\n',
    );
    const bad = await client.shell.exec(['ocre', 'run', '-n', 'app2', 'nope.wasm']);
    expect(bad).toMatchObject({ ret: -1, output: '\r\nFailed to create container\r\n' });
    expect(await client.shell.exec(['nosuch'])).toMatchObject({
      ret: -8,
      output: '\r\nnosuch: command not found\r\n',
    });
    await client.os.reset();
    await new Promise<void>((resolve) => {
      const stop = client.watchConsole((l) => l.includes('Booting Zephyr') && (stop(), resolve()));
    });
    expect(simulator.counters.resets).toBe(1);
    expect((await client.shell.exec(['ocre', 'ps'])).output).toBe('\r\nID\tSTATUS\tIMAGE\r\n');
  });

  it('collects ocre output from the console when the firmware prints it there', async () => {
    const { client, simulator } = connect({ ocreOutput: 'console' });
    simulator.fs.files.set('/lfs/ocre/images/app.wasm', WASM);
    const r = await client.shell.exec(['ocre', 'run', '-d', '-n', 'c1', 'app.wasm']);
    expect(r.output).toBe('');
    expect(r.ret).toBe(0);
    // The console text arrives before the answer frame, on the same UART.
    expect(r.console).toContain('c1');
  });

  it('uploads firmware, tests it, boots it after a reset, and confirms it', async () => {
    const { client, simulator } = connect({ bufSize: 1024 });
    const image = buildMcubootImage({ version: '1.1.0', payload: crypto.randomBytes(5000) });
    const up = await client.img.upload(image);
    expect(up).toMatchObject({ size: image.length, match: true, resumedFrom: 0 });
    let list = await client.img.list();
    expect(list.map((s) => [s.slot, s.version, s.active, s.confirmed, s.pending])).toEqual([
      [0, '1.0.0', true, true, false],
      [1, '1.1.0', false, false, false],
    ]);
    const newHash = Buffer.from(list[1]!.hash, 'hex');
    const test = await client.img.test(newHash);
    expect(test[1]!.pending).toBe(true);
    const twice = await rejection(client.img.test(Buffer.from(list[0]!.hash, 'hex')));
    expect(twice.message).toContain('IMAGE_SETTING_TEST_TO_ACTIVE_DENIED');
    simulator.reset();
    list = await client.img.list();
    expect(list.map((s) => [s.slot, s.version, s.active, s.confirmed])).toEqual([
      [0, '1.1.0', true, false],
      [1, '1.0.0', false, true],
    ]);
    list = await client.img.confirm();
    expect(list[0]).toMatchObject({ version: '1.1.0', active: true, confirmed: true });
    const notImage = await rejection(client.img.upload(Buffer.alloc(100)));
    expect(notImage.message).toContain('INVALID_IMAGE_HEADER_MAGIC');
  });

  it('fails a request in flight when the device is unplugged', async () => {
    const { client, simulator } = connect();
    simulator.fs.files.set('/lfs/ocre/images/app.wasm', WASM);
    await client.shell.exec(['ocre', 'run', '-d', '-n', 'w', 'app.wasm']);
    const waiting = client.shell.exec(['ocre', 'container', 'wait', 'w'], { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 20));
    simulator.unplug();
    const err = await rejection(waiting);
    expect(err.code).toBe('smp/disconnected');
    expect((await rejection(client.os.echo('x'))).code).toBe('smp/disconnected');
  });
});
