import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/base/index.js';
import { silentLogger } from '../../../lib/log/index.js';
import { startSmpDevice, type SmpDevice } from '../../../test/helpers/smp-device.js';
import { computeSpecHash } from '../names.js';
import type { WorkloadSpec } from '../types.js';
import { defaultOcreConfig } from './config.js';
import { McuFleet } from './mcu-fleet.js';
import type { McuEvent } from './mcu-link.js';
import {
  createCommand,
  deviceWords,
  OcreAdapter,
  ocreContainerId,
  parseOcrePs,
  shellWord,
} from './ocre-adapter.js';
import { knownBoardOnUsb, recogniseBoards } from './boards.js';
import { mcuCapabilities } from './capabilities.js';
import { waitFor } from '../../../test/helpers/wait.js';

// The ocre runtime against the device simulator (dist/cli/smp-simulator.js) on a real PTY pair:
// the real SMP framing, the fs upload with its hash check, the `ocre` shell's output and state machine,
// a reset (the container list is in RAM) and an unplugged cable.

interface SimState {
  files: { name: string; size: number; sha256: string }[];
  containers: { id: string; image: string; status: string; env: string[] }[];
}

describe('ocre runtime on a simulated MCU', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-ocre-'));
  let dev: SmpDevice;
  let fleet: McuFleet;
  let adapter: OcreAdapter;
  const events: McuEvent[] = [];
  const modules = [1, 2].map((n) =>
    Buffer.concat([Buffer.from('\0asm\x01\0\0\0'), crypto.randomBytes(3000 + n)]),
  );

  const state = async (): Promise<SimState> => {
    const seen = dev.events.length;
    dev.send({ op: 'state' });
    await waitFor(() => dev.events.slice(seen).some((e) => e.event === 'state'), 'simulator state');
    return dev.events.slice(seen).find((e) => e.event === 'state') as unknown as SimState;
  };

  const spec = (n: number, env: Record<string, string> = {}): WorkloadSpec => {
    const file = path.join(dir, `m${n}.wasm`);
    fs.writeFileSync(file, modules[n]!);
    const base = {
      workloadId: 'dep-1.blink',
      deploymentId: 'dep-1',
      component: 'blink',
      revision: `1.0.${n}`,
      artifact: {
        path: file,
        mediaType: 'application/wasm',
        digest: `sha256:${crypto.createHash('sha256').update(modules[n]!).digest('hex')}`,
      },
      env,
      device: 'host1/mcu1',
    };
    return { ...base, specHash: computeSpecHash(base) };
  };

  beforeAll(async () => {
    dev = await startSmpDevice();
    fleet = await McuFleet.open({
      mcus: [{ name: 'mcu1', port: dev.port, baud: 115200, board: 'b_u585i_iot02a' }],
      config: { ...defaultOcreConfig(), checkSeconds: 0.1, timeoutSeconds: 2, discover: false },
      clock: systemClock,
      logger: silentLogger(),
    });
    fleet.on((e) => events.push(e));
    adapter = new OcreAdapter({
      stateDir: path.join(dir, 'state'),
      fleet,
      clock: systemClock,
      logger: silentLogger(),
    });
    fs.mkdirSync(path.join(dir, 'state'));
    await fleet.start();
  });
  afterAll(async () => {
    await fleet?.stop();
    await dev?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('learns the board and firmware, and reports the MCU as a child device', async () => {
    const m = await waitFor(() => fleet.list().find((x) => x.connected), 'the MCU to connect');
    expect(m).toMatchObject({
      name: 'mcu1',
      board: 'b_u585i_iot02a',
      firmware: '1.0.0',
      zephyr: 'v4.4.0',
      resets: 0,
    });
    expect(m.ocre).toMatch(/^\d/);
    const caps = mcuCapabilities('host1', m);
    expect(caps.properties).toMatchObject({
      id: 'host1/mcu1',
      memory: '768Ki',
      supportedRuntimes: ['custom'],
    });
    expect(caps.labels).toMatchObject({
      'outpost.dev/runtime.ocre': 'true',
      'outpost.dev/board': 'b_u585i_iot02a',
    });
    expect((await adapter.probe()).detail).toBe('1 microcontroller, 1 connected');
  });

  it('uploads the module with its hash checked, creates and starts the container; the same spec again is a no-op', async () => {
    const s = spec(0, { LED: '13', GREETING: "it's a test" });
    const st = await adapter.apply(s);
    expect(st).toMatchObject({ state: 'running', specHash: s.specHash });
    const sim = await state();
    const image = `${s.artifact && 'digest' in s.artifact ? s.artifact.digest.slice(7, 23) : ''}.wasm`;
    expect(sim.files).toContainEqual(
      expect.objectContaining({
        name: `/lfs/ocre/images/${image}`,
        sha256: (s.artifact as { digest: string }).digest.slice(7),
      }),
    );
    expect(sim.containers).toEqual([
      expect.objectContaining({
        id: ocreContainerId('dep-1.blink'),
        image,
        status: 'RUNNING',
        env: ['LED=13', "GREETING=it's a test"],
      }),
    ]);
    const seen: string[] = [];
    const again = await adapter.apply(s, { onEvent: (e) => seen.push(e.type) });
    expect(again.state).toBe('running');
    expect(seen).toEqual(['unchanged']);
    expect(await adapter.list()).toEqual([
      expect.objectContaining({ workloadId: 'dep-1.blink', state: 'running' }),
    ]);
  });

  it('updates to a new module and removes the old image', async () => {
    const s = spec(1);
    expect(await adapter.apply(s)).toMatchObject({ state: 'running', specHash: s.specHash });
    const sim = await state();
    expect(sim.files.map((f) => f.name)).toEqual([
      `/lfs/ocre/images/${(s.artifact as { digest: string }).digest.slice(7, 23)}.wasm`,
    ]);
    expect(sim.containers).toHaveLength(1);
    expect(sim.containers[0]!.status).toBe('RUNNING');
  });

  it('after a device reset it makes the container again itself; what it cannot make is lost until applied', async () => {
    const resets = events.filter((e) => e.type === 'reset').length;
    dev.send({ op: 'reset' });
    await waitFor(() => events.filter((e) => e.type === 'reset').length > resets, 'the reset to be seen');
    expect(fleet.list()[0]!.resets).toBe(1);
    await waitFor(async () => (await state()).containers[0]?.status === 'RUNNING', 'the rebuild');
    expect(await adapter.status('dep-1.blink')).toMatchObject({ state: 'running' });

    // The image is gone from flash too: the container cannot be made again, so it is lost.
    const image = (await state()).containers[0]!.image;
    const r = await fleet.get('mcu1')!.client().shell.exec(['ocre', 'image', 'rm', image]);
    expect(r.ret).toBe(0);
    dev.send({ op: 'reset' });
    const st = await waitFor(async () => {
      const x = await adapter.status('dep-1.blink');
      return x.state === 'failed' ? x : undefined;
    }, 'the container to be missing');
    expect(st).toMatchObject({ lost: true, message: expect.stringMatching(/gone from mcu1/) });
    expect(await adapter.apply(spec(1))).toMatchObject({ state: 'running' });
    expect((await state()).containers).toHaveLength(1);
  });

  it('an unplugged MCU has its workloads unknown, never running; plugged in again it is rebuilt', async () => {
    await dev.unplug();
    await waitFor(() => !fleet.list()[0]!.connected, 'the MCU to be seen gone');
    const st = await adapter.status('dep-1.blink');
    expect(st.state).toBe('unknown');
    expect(st.message).toMatch(/mcu1 is unreachable/);
    await expect(adapter.apply(spec(1))).rejects.toMatchObject({ code: '102' });
    expect(events.some((e) => e.type === 'disconnected')).toBe(true);
    const resets = fleet.list()[0]!.resets;
    await dev.replug();
    // A power cycle: counted as a reset once it answers again, and the container made again from flash.
    await waitFor(
      () => fleet.list()[0]!.connected && fleet.list()[0]!.resets === resets + 1,
      'the MCU to come back, with a reset counted',
    );
    await waitFor(async () => (await adapter.status('dep-1.blink')).state === 'running', 'the rebuild');
    expect((await state()).containers).toEqual([expect.objectContaining({ status: 'RUNNING' })]);
  });

  it('removes the container and its image', async () => {
    await adapter.remove('dep-1.blink');
    const sim = await state();
    expect(sim.containers).toEqual([]);
    expect(sim.files).toEqual([]);
    expect((await adapter.status('dep-1.blink')).state).toBe('removed');
    await adapter.remove('dep-1.blink');
  });

  it('refuses a deployment for the host itself, an unknown MCU and a wrong digest, changing nothing', async () => {
    const s = spec(0);
    await expect(adapter.apply({ ...s, device: 'host1' })).rejects.toMatchObject({
      code: 'runtime/invalid-spec',
    });
    await expect(adapter.apply({ ...s, device: 'host1/mcu9' })).rejects.toMatchObject({ code: '101' });
    await expect(
      adapter.apply({
        ...s,
        artifact: {
          ...(s.artifact as { path: string; mediaType: string }),
          digest: `sha256:${'0'.repeat(64)}`,
        },
      }),
    ).rejects.toMatchObject({ code: 'runtime/digest-mismatch' });
    expect((await state()).containers).toEqual([]);
  });
});

describe('ocre runtime helpers', () => {
  it('parses `ocre container ps` (padded status names) and words the device printed', () => {
    expect(parseOcrePs('ID\tSTATUS\tIMAGE\r\nblink-1\tEXITED \tab.wasm\r\nx\tRUNNING\ty.wasm\r\n')).toEqual([
      { id: 'blink-1', status: 'EXITED', image: 'ab.wasm' },
      { id: 'x', status: 'RUNNING', image: 'y.wasm' },
    ]);
    expect(
      deviceWords({
        output: 'Failed to create container\n',
        console: [
          '[00:00:01.234,000] <err> wamr: Failed to load module: magic header not detected',
          '\x1b[1;32mocre:~$ \x1b[m',
        ],
      }),
    ).toBe('Failed to create container; <err> wamr: Failed to load module: magic header not detected');
    expect(ocreContainerId('5f0c.Blink_LED')).toMatch(/^blink_led-[0-9a-f]{8}$/);
  });

  it('quotes what the device shell would split, and refuses what it cannot take', () => {
    expect(shellWord('A=b')).toBe('A=b');
    expect(shellWord('A=hi there')).toBe('"A=hi there"');
    expect(shellWord('A=say "hi"')).toBe(`'A=say "hi"'`);
    expect(() => shellWord(`A="it's"`)).toThrow(/both kinds of quotes/);
    const spec = (env: Record<string, string>) =>
      ({ workloadId: 'd.c', env, args: [] }) as unknown as WorkloadSpec;
    expect(createCommand(spec({ X: 'a b' }), 'c-1', 'ab.wasm')).toEqual([
      'ocre',
      'container',
      'create',
      '-d',
      '-n',
      'c-1',
      '-k',
      'ocre:api',
      '-e',
      '"X=a b"',
      'ab.wasm',
    ]);
    expect(() => createCommand(spec({ X: 'x'.repeat(300) }), 'c-1', 'ab.wasm')).toThrow(
      /is \d+ characters; the device's shell takes at most 255/,
    );
  });

  it('recognises known boards on USB serial ports, skipping configured ports and unknown ids', () => {
    const found = recogniseBoards(
      [
        { path: '/dev/ttyACM0', vendorId: '0483', productId: '374e', serialNumber: '0035003A3233511' },
        { path: '/dev/ttyACM1', vendorId: '0483', productId: '374e' },
        { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001' },
        { path: '/dev/ttyACM2', vendorId: '2fe3', productId: '0100' },
      ],
      [{ name: 'mcu1', port: '/dev/ttyACM1', baud: 115200 }],
    );
    expect(found).toEqual([
      { name: 'b-u585i-iot02a-233511', port: '/dev/ttyACM0', baud: 115200, board: 'b_u585i_iot02a' },
      { name: 'zephyr-cdc-acm', port: '/dev/ttyACM2', baud: 115200, board: 'zephyr-cdc-acm' },
    ]);
  });

  it('tells from sysfs alone whether a known board is on USB, so that ports are listed only then', async () => {
    const usb = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-usb-'));
    try {
      const dev = (name: string, vendor: string, product: string) => {
        fs.mkdirSync(path.join(usb, name));
        fs.writeFileSync(path.join(usb, name, 'idVendor'), `${vendor}\n`);
        fs.writeFileSync(path.join(usb, name, 'idProduct'), `${product}\n`);
      };
      // No sysfs here at all: unknown, so the caller lists ports. sysfs without a USB bus: no board.
      expect(knownBoardOnUsb(path.join(usb, 'no-sys', 'bus', 'usb', 'devices'))).toBeUndefined();
      fs.mkdirSync(path.join(usb, 'sys', 'bus', 'pci'), { recursive: true });
      expect(knownBoardOnUsb(path.join(usb, 'sys', 'bus', 'usb', 'devices'))).toBe(false);
      expect(knownBoardOnUsb(usb)).toBe(false);
      dev('usb1', '1d6b', '0002'); // a root hub
      dev('1-1', '0403', '6001'); // an FTDI adapter: not a board Ocre runs on
      fs.mkdirSync(path.join(usb, '1-1:1.0')); // an interface, no ids
      expect(knownBoardOnUsb(usb)).toBe(false);
      dev('1-2', '2e8a', '000c'); // a Raspberry Pi Debug Probe (pico_plus2)
      expect(knownBoardOnUsb(usb)).toBe(true);

      // The fleet lists serial ports only while sysfs shows a known board (or cannot be read).
      fs.rmSync(path.join(usb, '1-2'), { recursive: true });
      let listed = 0;
      const fleet = await McuFleet.open({
        mcus: [],
        config: { ...defaultOcreConfig(), checkSeconds: 3600 },
        clock: systemClock,
        logger: silentLogger(),
        usbDevices: usb,
        listPorts: async () => {
          listed++;
          return { ports: [{ path: '/dev/ttyACM9', vendorId: '2e8a', productId: '000c' }] };
        },
      });
      await fleet.start();
      expect(listed).toBe(0);
      expect(fleet.list()).toEqual([]);
      dev('1-2', '2e8a', '000c');
      for (let i = 0; i < 6; i++) await fleet.tick(); // discovery runs every sixth check
      expect(listed).toBe(1);
      expect(fleet.list().map((m) => m.name)).toEqual(['pico-plus2']);
      await fleet.stop();
    } finally {
      fs.rmSync(usb, { recursive: true, force: true });
    }
  });
});

describe('ocre runtime on boards that differ', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-ocre2-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const setup = async (args: string[]) => {
    const dev = await startSmpDevice(args);
    const fleet = await McuFleet.open({
      mcus: [{ name: 'mcu1', port: dev.port, baud: 115200 }],
      config: { ...defaultOcreConfig(), checkSeconds: 0.1, timeoutSeconds: 2, discover: false },
      clock: systemClock,
      logger: silentLogger(),
    });
    const stateDir = fs.mkdtempSync(path.join(dir, 'state-'));
    const adapter = new OcreAdapter({ stateDir, fleet, clock: systemClock, logger: silentLogger() });
    await fleet.start();
    await waitFor(() => fleet.list()[0]!.connected, 'the MCU to connect');
    return {
      dev,
      fleet,
      adapter,
      async stop() {
        await fleet.stop();
        await dev.stop();
      },
    };
  };
  const specOf = (bytes: number): WorkloadSpec => {
    const data = Buffer.concat([Buffer.from('\0asm\x01\0\0\0'), crypto.randomBytes(bytes)]);
    const file = path.join(dir, `m-${bytes}.wasm`);
    fs.writeFileSync(file, data);
    const base = {
      workloadId: 'dep-2.app',
      deploymentId: 'dep-2',
      component: 'app',
      revision: '1.0.0',
      artifact: {
        path: file,
        mediaType: 'application/wasm',
        digest: `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`,
      },
      env: {},
      device: 'host1/mcu1',
    };
    return { ...base, specHash: computeSpecHash(base) };
  };

  it('reads the container states where Ocre prints on the console instead of into the shell answer', async () => {
    const b = await setup(['--ocre-output', 'console']);
    try {
      expect(await b.adapter.apply(specOf(2000))).toMatchObject({ state: 'running' });
      expect(await b.adapter.status('dep-2.app')).toMatchObject({ state: 'running' });
      await b.adapter.remove('dep-2.app');
      expect((await b.adapter.status('dep-2.app')).state).toBe('removed');
    } finally {
      await b.stop();
    }
  });

  it('a full flash fails the install with the device error, and nothing runs', async () => {
    const b = await setup(['--flash-bytes', '4096']);
    try {
      const err = (await b.adapter.apply(specOf(8000)).catch((e: unknown) => e)) as Error & { code: string };
      expect(err).toBeInstanceOf(Error);
      expect(err).toMatchObject({ code: 'smp/device-error' });
      expect(err.message).toMatch(/^upload of \/lfs\/ocre\/images\/\w+\.wasm at \d+: .*FILE_WRITE_FAILED/);
      expect(await b.adapter.list()).toEqual([]);
    } finally {
      await b.stop();
    }
  });
});
