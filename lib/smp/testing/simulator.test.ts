import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrames } from '../framing.js';
import { decodeHeader, encodePacket } from '../header.js';
import { decodeCbor } from '../cbor.js';
import { createMemoryPair } from './memory-pair.js';
import { SmpSimulator, type SimulatorEvent } from './simulator.js';
import { waitFor } from '../../../test/helpers/wait.js';

/** The simulator on its own, driven with hand-made frames: the real server's quirks. */
function rig(options: ConstructorParameters<typeof SmpSimulator>[0] = {}) {
  const [host, device] = createMemoryPair();
  const events: SimulatorEvent[] = [];
  const sim = new SmpSimulator({ ...options, onEvent: (e) => events.push(e) });
  sim.attach(device);
  const decoder = new FrameDecoder();
  const answers: { header: ReturnType<typeof decodeHeader>; body: unknown; hex: string }[] = [];
  const console: string[] = [];
  host.on('data', (chunk: Buffer) => {
    for (const e of decoder.push(chunk)) {
      if (e.type === 'packet')
        answers.push({
          header: decodeHeader(e.packet),
          body: decodeCbor(e.packet.subarray(8)),
          hex: e.packet.toString('hex'),
        });
      else if (e.type === 'console') console.push(e.line);
    }
  });
  const send = (hex: string) => host.write(Buffer.concat(encodeFrames(Buffer.from(hex, 'hex'))));
  const until = (n: number) =>
    waitFor(() => answers.length >= n && answers, `${n} answer(s) from the simulator`);
  return { sim, host, send, until, answers, events, console };
}

describe('device simulator', () => {
  it('answers the captured echo request with the captured bytes, after a prompt on the same line', async () => {
    const r = rig();
    r.send('0a00000900000000a161646568656c6c6f');
    const [a] = await r.until(1);
    expect(a!.hex).toBe('0b00000a00000000bf61726568656c6c6fff');
    expect(r.console).toContain('*** Booting Zephyr OS build v4.4.0 ***');
  });

  it('answers params, info and an unknown group like the real server', async () => {
    const r = rig();
    // One at a time: three lines in one burst would overrun the two line buffers (next test).
    r.send('0800000100000206a0');
    await r.until(1);
    r.send('0800000a00000307a166666f726d61746173');
    await r.until(2);
    r.send('0800000100460600a0');
    const a = await r.until(3);
    expect(a.map((x) => x.hex)).toEqual([
      '0900001900000206bf686275665f73697a65190180696275665f636f756e7404ff',
      '0900001000000307bf666f7574707574665a6570687972ff',
      '0900000600460600bf62726308ff',
    ]);
  });

  it('answers rc 3 to a tagged byte string (cbor-x default encoding) and accepts the untagged one', async () => {
    const r = rig();
    // {off: 0, data: tag64(h'010203'), name: "/lfs/t", len: 3}
    const tagged =
      'a4636f666600646461746143'.replace('43', 'd84043') + '010203' + '646e616d65662f6c66732f74636c656e03';
    r.send(`0a0000${(tagged.length / 2).toString(16).padStart(2, '0')}00080100${tagged}`);
    await r.until(1);
    const plain = 'a4636f666600646461746143010203646e616d65662f6c66732f74636c656e03';
    r.send(`0a0000${(plain.length / 2).toString(16).padStart(2, '0')}00080200${plain}`);
    const a = await r.until(2);
    expect(a[0]!.body).toEqual({ rc: 3 });
    expect(a[1]!.body).toEqual({ off: 3 });
    expect(r.sim.fs.read('/lfs/t')).toEqual(Buffer.from([1, 2, 3]));
  });

  it('answers a wrong upload offset with rc 11 and the expected offset (v2), rc 1 (v1)', async () => {
    const r = rig();
    const body = 'a3636f666618646464617461430a0b0c646e616d65662f6c66732f75';
    r.send(`0a0000${(body.length / 2).toString(16).padStart(2, '0')}00080100${body}`);
    await r.until(1);
    r.send(`020000${(body.length / 2).toString(16).padStart(2, '0')}00080200${body}`);
    const a = await r.until(2);
    expect(a[0]!.body).toEqual({ err: { group: 8, rc: 11 }, len: 0 });
    expect(a[1]!.body).toEqual({ rc: 1 });
  });

  it('drops the third line of an unpaced burst (two line buffers), and answers the same frames paced', async () => {
    const r = rig();
    const echo = encodePacket(
      { op: 2, version: 1, flags: 0, group: 0, sequence: 9, command: 0 },
      Buffer.concat([Buffer.from([0xa1, 0x61, 0x64, 0x78, 200]), Buffer.alloc(200, 0x61)]),
    );
    const frames = encodeFrames(echo);
    expect(frames).toHaveLength(3);
    r.host.write(Buffer.concat(frames));
    for (let i = 0; i < 50 && !r.events.some((e) => e.event === 'frame-dropped'); i++)
      await new Promise((res) => setTimeout(res, 5));
    expect(r.events).toContainEqual({ event: 'frame-dropped', reason: 'no-buffer', line: 3 });
    expect(r.answers).toHaveLength(0);
    for (const f of frames) {
      r.host.write(f);
      await new Promise((res) => setTimeout(res, 5));
    }
    const [a] = await r.until(1);
    expect((a!.body as { r: string }).r).toBe('a'.repeat(200));
  });

  it('runs ocre commands with the real output format, and loses containers on reset', async () => {
    const r = rig();
    r.sim.fs.files.set('/lfs/ocre/images/app.wasm', Buffer.from('\0asm\x01\0\0\0'));
    const run = await r.sim.ocre.run(['ocre', 'run', '-d', '-n', 'app1', '-k', 'ocre:api', 'app.wasm']);
    expect(run).toEqual({ ret: 0, out: 'app1\n' });
    expect((await r.sim.ocre.run(['ocre', 'ps'])).out).toBe('ID\tSTATUS\tIMAGE\napp1\tRUNNING\tapp.wasm\n');
    expect((await r.sim.ocre.run(['ocre', 'rm', 'app1'])).out).toBe("Container 'app1' is in use\n");
    expect((await r.sim.ocre.run(['ocre', 'kill', 'app1'])).out).toBe('app1\n');
    expect((await r.sim.ocre.run(['ocre', 'ps', 'app1'])).out).toBe(
      'ID\tSTATUS\tIMAGE\napp1\tEXITED \tapp.wasm\n',
    );
    expect((await r.sim.ocre.run(['ocre', 'container', 'wait', 'app1'])).out).toBe('-1\n');
    expect((await r.sim.ocre.run(['ocre', 'create', '-n', 'app2', 'missing.wasm'])).out).toBe(
      'Failed to create container\n',
    );
    expect((await r.sim.ocre.run(['ocre', 'create', '-n', 'Bad', 'app.wasm'])).ret).toBe(-1);
    expect((await r.sim.ocre.run(['ocre', 'images'])).out).toMatch(
      /^SHA-256\t{9}SIZE\tNAME\n[0-9a-f]{64}\t8\tapp\.wasm\n$/,
    );
    r.sim.reset();
    expect((await r.sim.ocre.run(['ocre', 'ps'])).out).toBe('ID\tSTATUS\tIMAGE\n');
    expect(r.sim.fs.read('/lfs/ocre/images/app.wasm')).toBeDefined();
  });
});
