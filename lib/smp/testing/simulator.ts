import crypto from 'node:crypto';
import { decodeCbor } from '../cbor.js';
import { FrameDecoder, encodeFrames } from '../framing.js';
import { Group, HEADER_SIZE, Op, decodeHeader, encodePacket, type SmpHeader } from '../header.js';
import { parseMcubootImage } from '../mcuboot.js';
import { DeviceFs } from './device-fs.js';
import { buildMcubootImage } from './mcuboot-image.js';
import { OcreShell, type OcreContainer } from './ocre-shell.js';
import { zcborEncode, type ZValue } from './zcbor-writer.js';

/**
 * A simulated Zephyr 4.4 board running Ocre with MCUmgr over its console UART, for tests and
 * benchmarks (a physical microcontroller cannot exist here). It speaks the real framing and
 * mirrors the real server's behaviour as captured on a native_sim build
 * (shared/notes/ocre-smp-discovery-usb-bundles.md section 2):
 *
 * - two receive line buffers of 128 bytes; a line that completes while both are still waiting to
 *   be processed is dropped silently (a burst of 3 frames in one read loses the third);
 * - answers are indefinite-length CBOR maps, v1 or v2 error shapes by the request's version bits;
 * - rc 3 for undecodable CBOR (a tagged byte string), rc 8 for an unknown group or command;
 * - the fs group's one upload context, rc 11 with `len` for a wrong offset, `len` in the first
 *   download answer; the img group's MCUboot slots, test/confirm rules and upload resume;
 * - a shell (group 9) with `ocre ...` (ocre-shell.ts) and `kernel version`;
 * - a prompt printed right before answer frames (so markers arrive mid-line), boot banners and
 *   log lines on the console;
 * - reset (RAM state lost: the Ocre container list, transfer contexts) and unplug (the port closes).
 *
 * Without `baudRate` the link is instantaneous, like native_sim on a PTY. With it, both directions
 * take the time a real UART at that speed would, so throughput can be measured.
 */
export interface SimulatorOptions {
  lineBuffers?: number;
  lineBufferSize?: number;
  /** MCUMGR_TRANSPORT_NETBUF_SIZE / _COUNT reported by os params. Default 384 / 4. */
  bufSize?: number;
  bufCount?: number;
  baudRate?: number;
  /** Time the device takes to process one received line, with `baudRate`. Default 0.2 ms. */
  processMs?: number;
  supportsV2?: boolean;
  board?: Partial<BoardInfo>;
  flashBytes?: number;
  /** Where `ocre ...` prints: into the shell answer (`o`), or on the console UART (stdio). Default shell. */
  ocreOutput?: 'shell' | 'console';
  /** Printed before answer frames on the same line; false for none. */
  prompt?: string | false;
  /** 1-based numbers of received SMP frame lines to drop (fault injection). */
  dropFrames?: number[];
  firmware?: Buffer;
  slotSize?: number;
  resetDelayMs?: number;
  /** Idle time after which an unfinished transfer's file is closed (MCUmgr's automatic close). */
  idleCloseMs?: number;
  onEvent?: (e: SimulatorEvent) => void;
  now?: () => number;
}

export interface BoardInfo {
  name: string;
  nodeName: string;
  release: string;
  kernelVersion: string;
  buildTime: string;
  machine: string;
  processor: string;
}

export type SimulatorEvent =
  | { event: 'frame-dropped'; reason: 'no-buffer' | 'injected' | 'too-long'; line: number }
  | { event: 'frame-error'; reason: string }
  | { event: 'request'; group: number; command: number; op: number; sequence: number; version: number }
  | { event: 'fs-upload'; name: string; off: number; len: number }
  | { event: 'img-upload'; off: number; len: number }
  | { event: 'reset'; reason: 'command' | 'external' | 'power' }
  | { event: 'unplugged' }
  | { event: 'plugged' };

/** The byte stream the simulator sits on: one end of a PTY pair (serialport) or a memory pair. */
export interface SimulatorPort {
  write(chunk: Uint8Array): unknown;
  on(event: 'data', l: (chunk: Buffer) => void): unknown;
  on(event: 'close', l: () => void): unknown;
  off(event: 'data', l: (chunk: Buffer) => void): unknown;
  off(event: 'close', l: () => void): unknown;
  destroy?(): unknown;
  close?(cb?: () => void): unknown;
}

type Reply =
  | { body: Record<string, ZValue | undefined> }
  | { rc: number }
  | { groupRc: number; extra?: Record<string, ZValue> };
type Handler = (body: Record<string, unknown>, h: SmpHeader) => Reply | Promise<Reply>;

const DEFAULT_PROMPT = '\x1b[1;32mocre:~$ \x1b[m';
const BANNER = '*** Booting Zephyr OS build v4.4.0 ***';
const INVALID = Symbol('invalid');
const FS_PATH_LEN = 64;
const SHELL_CMD_BUFF_SIZE = 256;

interface Line {
  bytes: number[];
  buffer: number;
  tooLong: boolean;
  isSmp: boolean | undefined;
}

interface Slot {
  data: Buffer;
  version: string;
  hash: Buffer;
}

export class SmpSimulator {
  readonly fs: DeviceFs;
  readonly ocre: OcreShell;
  private readonly o: Required<
    Omit<SimulatorOptions, 'baudRate' | 'onEvent' | 'board' | 'firmware' | 'now' | 'dropFrames'>
  >;
  private readonly baudRate: number | undefined;
  private readonly board: BoardInfo;
  private readonly onEvent: (e: SimulatorEvent) => void;
  private readonly now: () => number;
  private readonly dropFrames: Set<number>;
  private port: SimulatorPort | undefined;
  private generation = 0;
  private bootedAt = 0;
  private decoder = new FrameDecoder({ maxLine: 4096 });
  private buffersBusyUntil: number[];
  private line: Line | undefined;
  private smpLines = 0;
  private dropNext = 0;
  private rxClock = 0;
  private txClock = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly timeline: { at: number; fn: () => void }[] = [];
  private timelineTimer: NodeJS.Timeout | undefined;
  private fsCtx:
    { state: 'upload' | 'download'; path: string; off: number; len: number; at: number } | undefined;
  private slots: [Slot, Slot | undefined];
  /** MCUboot swap state: none, test or perm (pending for slot 1), revert (running slot 0 unconfirmed). */
  private swap: 'none' | 'test' | 'perm' | 'revert' = 'none';
  private imgUpload: { off: number; size: number; sha: Buffer; data: Buffer } | undefined;
  private datetimeBase: { set: number; at: number } | undefined;
  readonly counters = { framesReceived: 0, framesDropped: 0, requests: 0, resets: 0 };
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onClose = () => this.detach('unplugged');

  constructor(options: SimulatorOptions = {}) {
    this.o = {
      lineBuffers: options.lineBuffers ?? 2,
      lineBufferSize: options.lineBufferSize ?? 128,
      bufSize: options.bufSize ?? 384,
      bufCount: options.bufCount ?? 4,
      processMs: options.processMs ?? 0.2,
      supportsV2: options.supportsV2 ?? true,
      flashBytes: options.flashBytes ?? 1024 * 1024,
      ocreOutput: options.ocreOutput ?? 'shell',
      prompt: options.prompt ?? DEFAULT_PROMPT,
      slotSize: options.slotSize ?? 512 * 1024,
      resetDelayMs: options.resetDelayMs ?? 250,
      idleCloseMs: options.idleCloseMs ?? 4000,
    };
    this.baudRate = options.baudRate;
    this.board = {
      name: 'native_sim',
      nodeName: 'unknown',
      release: 'v4.4.0',
      kernelVersion: '4.4.0',
      buildTime: 'Apr 20 2026 12:00:00',
      machine: 'posix',
      processor: 'native',
      ...options.board,
    };
    this.onEvent = options.onEvent ?? (() => undefined);
    this.now = options.now ?? (() => performance.now());
    this.dropFrames = new Set(options.dropFrames ?? []);
    this.buffersBusyUntil = new Array<number>(this.o.lineBuffers).fill(0);
    this.fs = new DeviceFs('/lfs', this.o.flashBytes);
    this.fs.mkdirs('/lfs/ocre/images');
    this.fs.mkdirs('/lfs/ocre/containers');
    this.ocre = new OcreShell(this.fs, { log: (l) => this.log(l) });
    const firmware =
      options.firmware ??
      buildMcubootImage({ version: '1.0.0', payload: Buffer.from('ocre supervisor firmware') });
    const fw = parseMcubootImage(firmware);
    this.slots = [{ data: firmware, version: fw.version, hash: fw.hash ?? sha256(firmware) }, undefined];
  }

  /** Connects to a port (power on): prints the boot banner and starts answering. */
  attach(port: SimulatorPort): void {
    if (this.port) this.detach('replaced');
    this.port = port;
    port.on('data', this.onData);
    port.on('close', this.onClose);
    this.powerOn();
    this.onEvent({ event: 'plugged' });
  }

  /** Pulls the cable: the port closes, RAM state is lost; flash (files, firmware) stays. */
  unplug(): void {
    const port = this.port;
    this.detach('unplugged');
    if (port?.destroy) port.destroy();
    else port?.close?.();
  }

  /** Resets the board as the reset button would (or `os reset`): RAM state is lost, it boots again. */
  reset(reason: 'command' | 'external' = 'external'): void {
    this.generation++;
    this.counters.resets++;
    this.ramLost();
    this.applySwapOnBoot();
    this.onEvent({ event: 'reset', reason });
    this.powerOn();
  }

  /** Drops the next `n` SMP frame lines (fault injection). */
  dropNextFrames(n: number): void {
    this.dropNext += n;
  }

  /** Makes a running container's program end (the only way one ends by itself here). */
  exitContainer(id: string, code: number): boolean {
    return this.ocre.exit(id, code);
  }

  state(): {
    files: { name: string; size: number; sha256: string }[];
    containers: OcreContainer[];
    images: {
      slot: number;
      version: string;
      hash: string;
      active: boolean;
      confirmed: boolean;
      pending: boolean;
    }[];
    counters: SmpSimulator['counters'];
  } {
    return {
      files: this.fs.summary(),
      containers: [...this.ocre.containers.values()].map((c) => ({ ...c })),
      images: this.imageList().map((raw) => {
        const i = raw as {
          slot: number;
          version: string;
          hash: Buffer;
          active: boolean;
          confirmed: boolean;
          pending: boolean;
        };
        return {
          slot: i.slot,
          version: i.version,
          hash: i.hash.toString('hex'),
          active: i.active,
          confirmed: i.confirmed,
          pending: i.pending,
        };
      }),
      counters: { ...this.counters },
    };
  }

  private detach(why: 'unplugged' | 'replaced'): void {
    const port = this.port;
    if (!port) return;
    port.off('data', this.onData);
    port.off('close', this.onClose);
    this.port = undefined;
    this.generation++;
    this.ramLost();
    if (why === 'unplugged') this.onEvent({ event: 'unplugged' });
  }

  private ramLost(): void {
    this.ocre.reset();
    this.fsCtx = undefined;
    this.imgUpload = undefined;
    this.datetimeBase = undefined;
    this.decoder = new FrameDecoder({ maxLine: 4096 });
    this.line = undefined;
    this.buffersBusyUntil.fill(0);
    this.queue = Promise.resolve();
  }

  private powerOn(): void {
    this.bootedAt = this.now();
    this.console(`\r\n${BANNER}\r\n`);
    this.console('[00:00:00.000,000] <inf> ocre: Ocre runtime started\r\n');
    if (this.o.prompt) this.console(this.o.prompt);
  }

  // ---- receiving: the UART line buffers -------------------------------------------------------

  private receive(chunk: Buffer): void {
    const now = this.now();
    const byteMs = this.baudRate ? 10_000 / this.baudRate : 0;
    for (const b of chunk) {
      const t = this.baudRate ? (this.rxClock = Math.max(this.rxClock, now) + byteMs) : now;
      if (!this.line) {
        const free = this.buffersBusyUntil.findIndex((until) => until <= t);
        if (free >= 0) this.buffersBusyUntil[free] = Infinity;
        this.line = { bytes: [], buffer: free, tooLong: false, isSmp: undefined };
      }
      const line = this.line;
      if (line.bytes.length === 0 && line.isSmp === undefined && b !== 0x0a)
        line.isSmp = b === 0x06 || b === 0x04;
      if (b === 0x0a) {
        this.line = undefined;
        this.lineDone(line, t);
      } else if (line.bytes.length < this.o.lineBufferSize) line.bytes.push(b);
      else line.tooLong = true;
    }
  }

  private lineDone(line: Line, t: number): void {
    const release = () => {
      if (line.buffer >= 0) this.buffersBusyUntil[line.buffer] = this.baudRate ? t + this.o.processMs : 0;
    };
    if (!line.isSmp) {
      release();
      return;
    }
    const n = ++this.smpLines;
    this.counters.framesReceived++;
    let drop: 'no-buffer' | 'injected' | 'too-long' | undefined;
    if (line.buffer < 0) drop = 'no-buffer';
    else if (line.tooLong) drop = 'too-long';
    else if (this.dropFrames.has(n) || this.dropNext > 0) {
      if (!this.dropFrames.delete(n)) this.dropNext--;
      drop = 'injected';
    }
    if (drop) {
      release();
      this.counters.framesDropped++;
      this.onEvent({ event: 'frame-dropped', reason: drop, line: n });
      return;
    }
    const generation = this.generation;
    const process = () => {
      if (generation !== this.generation) return;
      if (!this.baudRate) release();
      for (const e of this.decoder.push(Buffer.from([...line.bytes, 0x0a]))) {
        if (e.type === 'packet') this.enqueue(e.packet);
        else if (e.type === 'error') this.onEvent({ event: 'frame-error', reason: e.reason });
      }
    };
    if (this.baudRate) {
      release();
      this.later(t, process);
    } else setImmediate(process);
  }

  // ---- SMP --------------------------------------------------------------------------------------

  private enqueue(packet: Buffer): void {
    const generation = this.generation;
    this.queue = this.queue
      .then(() => (generation === this.generation ? this.handle(packet, generation) : undefined))
      .catch(() => undefined);
  }

  private async handle(packet: Buffer, generation: number): Promise<void> {
    if (packet.length < HEADER_SIZE) return;
    const h = decodeHeader(packet);
    if (h.op !== Op.read && h.op !== Op.write) return;
    this.counters.requests++;
    this.onEvent({
      event: 'request',
      group: h.group,
      command: h.command,
      op: h.op,
      sequence: h.sequence,
      version: h.version,
    });
    let reply: Reply;
    if (h.version === 1 && !this.o.supportsV2) reply = { rc: 13 };
    else if (HEADER_SIZE + h.length !== packet.length) reply = { rc: 3 };
    else {
      let body: unknown;
      try {
        // Undecodable CBOR, a tag (cbor-x's tag 64 on byte strings) included: zcbor fails, rc 3.
        body = decodeCbor(packet.subarray(HEADER_SIZE));
      } catch {
        body = INVALID;
      }
      if (
        body === INVALID ||
        !body ||
        typeof body !== 'object' ||
        Array.isArray(body) ||
        body instanceof Uint8Array
      )
        reply = { rc: 3 };
      else {
        const handler = this.handlers()[h.group]?.[h.command]?.[h.op === Op.read ? 'read' : 'write'];
        reply = handler ? await handler(body as Record<string, unknown>, h) : { rc: 8 };
      }
    }
    if (generation !== this.generation) return;
    this.respond(h, this.replyBody(h, reply));
  }

  private replyBody(h: SmpHeader, reply: Reply): Record<string, ZValue | undefined> {
    if ('body' in reply) return reply.body;
    if ('rc' in reply) return { rc: reply.rc };
    if (h.version === 1) return { err: { group: h.group, rc: reply.groupRc }, ...reply.extra };
    return { rc: translate(h.group, reply.groupRc) };
  }

  private respond(h: SmpHeader, body: Record<string, ZValue | undefined>): void {
    const payload = zcborEncode(body);
    const packet = encodePacket({ ...h, op: (h.op + 1) as 1 | 3 }, payload);
    const frames = encodeFrames(packet, { keepCrcTogether: true });
    if (this.o.prompt) frames[0] = Buffer.concat([Buffer.from(this.o.prompt, 'latin1'), frames[0]!]);
    for (const f of frames) this.transmit(f);
  }

  private console(text: string): void {
    this.transmit(Buffer.from(text, 'utf8'));
  }

  private log(line: string): void {
    const ms = Math.max(0, Math.round(this.now() - this.bootedAt));
    const stamp = `${String(Math.floor(ms / 3_600_000)).padStart(2, '0')}:${String(Math.floor(ms / 60_000) % 60).padStart(2, '0')}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}.${String(ms % 1000).padStart(3, '0')},000`;
    this.console(`[${stamp}] ${line}\r\n`);
  }

  private transmit(data: Buffer): void {
    const port = this.port;
    if (!port) return;
    if (!this.baudRate) {
      port.write(data);
      return;
    }
    this.txClock = Math.max(this.txClock, this.now()) + (data.length * 10_000) / this.baudRate;
    const generation = this.generation;
    this.later(this.txClock, () => {
      if (generation === this.generation && this.port === port) port.write(data);
    });
  }

  /**
   * Runs `fn` at virtual time `at`, strictly in the order of the calls: separate timers with
   * fractional delays can fire out of order, which would shuffle the frames of a packet.
   */
  private later(at: number, fn: () => void): void {
    this.timeline.push({ at, fn });
    this.armTimeline();
  }

  private armTimeline(): void {
    if (this.timelineTimer || this.timeline.length === 0) return;
    const wait = Math.max(0, this.timeline[0]!.at - this.now());
    this.timelineTimer = setTimeout(() => {
      this.timelineTimer = undefined;
      const now = this.now();
      while (this.timeline.length > 0 && this.timeline[0]!.at <= now + 0.5) this.timeline.shift()!.fn();
      this.armTimeline();
    }, wait);
  }

  private handlers(): Record<number, Record<number, { read?: Handler; write?: Handler }>> {
    const echo: Handler = (b) => {
      const d = field(b, 'd', 'string');
      return d === INVALID ? { rc: 3 } : { body: { r: d ?? '' } };
    };
    return {
      [Group.os]: {
        0: { read: echo, write: echo },
        4: { read: () => this.datetimeRead(), write: (b) => this.datetimeWrite(b) },
        5: {
          write: () => {
            const generation = this.generation;
            setTimeout(() => {
              if (generation === this.generation && this.port) this.reset('command');
            }, this.o.resetDelayMs);
            return { body: {} };
          },
        },
        6: { read: () => ({ body: { buf_size: this.o.bufSize, buf_count: this.o.bufCount } }) },
        7: { read: (b) => this.info(b) },
      },
      [Group.image]: {
        0: { read: () => this.imageState(), write: (b) => this.imageStateWrite(b) },
        1: { write: (b) => this.imageUpload(b) },
        5: { write: (b) => this.imageErase(b) },
      },
      [Group.fs]: {
        0: { read: (b) => this.fsDownload(b), write: (b) => this.fsUpload(b) },
        1: { read: (b) => this.fsStat(b) },
        2: { read: (b) => this.fsHash(b) },
        3: { read: () => ({ body: { types: { sha256: { format: 1, size: 32 } } } }) },
        4: {
          write: () => {
            this.fsCtx = undefined;
            return { body: {} };
          },
        },
      },
      [Group.shell]: { 0: { write: (b) => this.shellExec(b) } },
    };
  }

  // ---- os ---------------------------------------------------------------------------------------

  private info(b: Record<string, unknown>): Reply {
    const format = field(b, 'format', 'string');
    if (format === INVALID) return { rc: 3 };
    const f = format ?? '';
    const known = 'snrvbmpioa';
    if ([...f].some((ch) => !known.includes(ch))) return { groupRc: 2 };
    const all = f.includes('a');
    const want = (ch: string) => all || f.includes(ch) || (f === '' && ch === 's');
    const parts: string[] = [];
    if (want('s')) parts.push('Zephyr');
    if (want('n')) parts.push(this.board.nodeName);
    if (want('r')) parts.push(this.board.release);
    if (want('v')) parts.push(this.board.kernelVersion);
    if (want('b')) parts.push(this.board.buildTime);
    if (want('m')) parts.push(this.board.machine);
    if (want('p')) parts.push(this.board.processor);
    if (want('i')) parts.push(this.board.name);
    if (want('o')) parts.push('Zephyr');
    return { body: { output: parts.join(' ') } };
  }

  private datetimeRead(): Reply {
    if (!this.datetimeBase) return { groupRc: 4 };
    const t = new Date(this.datetimeBase.set + (this.now() - this.datetimeBase.at));
    return { body: { datetime: t.toISOString().slice(0, 19) } };
  }

  private datetimeWrite(b: Record<string, unknown>): Reply {
    const v = field(b, 'datetime', 'string');
    if (v === INVALID || v === undefined || v.length < 19 || v.length >= 26) return { rc: 3 };
    const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(v);
    if (!m) return { rc: 3 };
    const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
    if (
      Number.isNaN(t) ||
      +m[2]! < 1 ||
      +m[2]! > 12 ||
      +m[3]! < 1 ||
      +m[3]! > 31 ||
      +m[4]! > 23 ||
      +m[5]! > 59 ||
      +m[6]! > 59
    )
      return { rc: 3 };
    this.datetimeBase = { set: t, at: this.now() };
    return { body: {} };
  }

  // ---- fs ---------------------------------------------------------------------------------------

  private idleClose(): void {
    if (this.fsCtx && this.now() - this.fsCtx.at > this.o.idleCloseMs) this.fsCtx = undefined;
  }

  private fsUpload(b: Record<string, unknown>): Reply {
    const off = field(b, 'off', 'uint');
    const name = field(b, 'name', 'string');
    const data = field(b, 'data', 'bytes');
    const len = field(b, 'len', 'uint');
    if (off === INVALID || name === INVALID || data === INVALID || len === INVALID) return { rc: 3 };
    if (off === undefined || !name || name.length > FS_PATH_LEN || (off === 0 && len === undefined))
      return { rc: 3 };
    this.idleClose();
    if (!this.fsCtx || this.fsCtx.state !== 'upload' || this.fsCtx.path !== name) this.fsCtx = undefined;
    if (!this.fsCtx) {
      if (this.fs.dirs.has(name)) return { groupRc: 4 };
      if (!this.fs.canCreate(name)) return { groupRc: 14 };
      if (!this.fs.files.has(name)) this.fs.files.set(name, Buffer.alloc(0));
      this.fsCtx = { state: 'upload', path: name, off: 0, len: 0, at: this.now() };
    }
    const ctx = this.fsCtx;
    ctx.at = this.now();
    const existing = this.fs.files.get(name)!.length;
    if (off === 0) ctx.len = len!;
    else if (ctx.off === 0) ctx.off = existing;
    if (off > 0 && off !== ctx.off) {
      const at = ctx.off;
      this.fsCtx = undefined;
      return { groupRc: 11, extra: { len: at } };
    }
    if (data && data.length > 0) {
      let file = this.fs.files.get(name)!;
      if (off === 0 && existing !== 0) file = Buffer.alloc(0);
      if (this.fs.used() - this.fs.files.get(name)!.length + file.length + data.length > this.fs.capacity) {
        this.fsCtx = undefined;
        this.log('<err> fs: failed to write file: -28 (no space left on device)');
        return { groupRc: 10 };
      }
      this.fs.files.set(name, Buffer.concat([file.subarray(0, ctx.off), data]));
      ctx.off += data.length;
      this.onEvent({ event: 'fs-upload', name, off, len: data.length });
    }
    const at = ctx.off;
    if (ctx.len > 0 && ctx.off >= ctx.len) this.fsCtx = undefined;
    return { body: { off: at } };
  }

  private fileLen(path: string): number | { groupRc: number } {
    if (this.fs.dirs.has(path)) return { groupRc: 4 };
    const f = this.fs.files.get(path);
    return f ? f.length : { groupRc: 3 };
  }

  private fsDownload(b: Record<string, unknown>): Reply {
    const off = field(b, 'off', 'uint');
    const name = field(b, 'name', 'string');
    if (off === INVALID || name === INVALID || off === undefined || !name || name.length > FS_PATH_LEN)
      return { rc: 3 };
    this.idleClose();
    if (!this.fsCtx || this.fsCtx.state !== 'download' || this.fsCtx.path !== name) this.fsCtx = undefined;
    if (!this.fsCtx) {
      const len = this.fileLen(name);
      if (typeof len !== 'number') return len;
      this.fsCtx = { state: 'download', path: name, off: 0, len, at: this.now() };
    }
    const ctx = this.fsCtx;
    ctx.at = this.now();
    const file = this.fs.files.get(name) ?? Buffer.alloc(0);
    // MCUMGR_GRP_FS_DL_CHUNK_SIZE: the buffer less the answer's own overhead (790 B at 1024).
    const chunk = file.subarray(off, off + Math.max(16, this.o.bufSize - 234));
    ctx.off = off + chunk.length;
    const body = { off, data: chunk, len: off === 0 ? ctx.len : undefined };
    if (ctx.len > 0 && ctx.off >= ctx.len) this.fsCtx = undefined;
    return { body };
  }

  private fsStat(b: Record<string, unknown>): Reply {
    const name = field(b, 'name', 'string');
    if (name === INVALID || !name || name.length > FS_PATH_LEN) return { rc: 3 };
    const len = this.fileLen(name);
    return typeof len === 'number' ? { body: { len } } : len;
  }

  private fsHash(b: Record<string, unknown>): Reply {
    const name = field(b, 'name', 'string');
    const type = field(b, 'type', 'string');
    const off = field(b, 'off', 'uint');
    const len = field(b, 'len', 'uint');
    if (name === INVALID || type === INVALID || off === INVALID || len === INVALID) return { rc: 3 };
    if (!name || name.length > FS_PATH_LEN || (type !== undefined && type.length > 8) || len === 0)
      return { rc: 3 };
    if ((type ?? 'sha256') !== 'sha256') return { groupRc: 13 };
    const size = this.fileLen(name);
    if (typeof size !== 'number') return size;
    const start = off ?? 0;
    if (size <= start) return { groupRc: size === 0 ? 16 : 12 };
    const part = this.fs.files.get(name)!.subarray(start, len === undefined ? undefined : start + len);
    return {
      body: { type: 'sha256', off: start ? start : undefined, len: part.length, output: sha256(part) },
    };
  }

  // ---- shell ------------------------------------------------------------------------------------

  private async shellExec(b: Record<string, unknown>): Promise<Reply> {
    const argv = b.argv;
    if (!Array.isArray(argv) || argv.some((a) => typeof a !== 'string')) return { rc: 3 };
    const line = (argv as string[]).join(' ');
    if (line.length + 1 >= SHELL_CMD_BUFF_SIZE) return { groupRc: 2 };
    // The shell splits the rejoined line again (quotes group words).
    const words = splitShell(line);
    if (words.length === 0) return { groupRc: 3 };
    const crlf = (s: string) => (s ? '\r\n' + s.replace(/\r?\n/g, '\r\n') : '');
    const cmd = words[0]!;
    if (cmd === 'ocre') {
      const run = await this.ocre.run(words);
      if (this.o.ocreOutput === 'console') {
        this.console(run.out.replace(/\r?\n/g, '\r\n'));
        return { body: { o: '', ret: run.ret } };
      }
      return { body: { o: crlf(run.out), ret: run.ret } };
    }
    if (cmd === 'kernel' && words[1] === 'version' && words.length === 2)
      return { body: { o: crlf(`Zephyr version ${this.board.kernelVersion}\n`), ret: 0 } };
    if (cmd === 'kernel' && words[1] === 'uptime')
      return { body: { o: crlf(`Uptime: ${Math.round(this.now() - this.bootedAt)} ms\n`), ret: 0 } };
    return { body: { o: crlf(`${cmd}: command not found\n`), ret: -8 } };
  }

  // ---- img --------------------------------------------------------------------------------------

  private imageList(): ZValue[] {
    const out: ZValue[] = [];
    const entry = (
      slot: number,
      s: Slot,
      f: { pending?: boolean; confirmed?: boolean; active?: boolean; permanent?: boolean },
    ) => ({
      slot,
      version: s.version,
      hash: s.hash,
      bootable: true,
      pending: f.pending ?? false,
      confirmed: f.confirmed ?? false,
      active: f.active ?? false,
      permanent: f.permanent ?? false,
    });
    out.push(entry(0, this.slots[0], { active: true, confirmed: this.swap !== 'revert' }));
    const other = this.slots[1];
    if (other)
      out.push(
        entry(1, other, {
          pending: this.swap === 'test' || this.swap === 'perm',
          permanent: this.swap === 'perm',
          confirmed: this.swap === 'revert',
        }),
      );
    return out;
  }

  private imageState(): Reply {
    return { body: { images: this.imageList(), splitStatus: 0 } };
  }

  private imageStateWrite(b: Record<string, unknown>): Reply {
    const hash = field(b, 'hash', 'bytes');
    const confirm = field(b, 'confirm', 'bool');
    if (hash === INVALID || confirm === INVALID) return { rc: 3 };
    let slot: number;
    if (!hash || hash.length === 0) {
      if (!confirm) return { groupRc: 24 };
      slot = 0;
    } else if (hash.length !== 32) return { groupRc: 24 };
    else {
      slot = this.slots.findIndex((s) => s !== undefined && s.hash.equals(hash));
      if (slot < 0) return { groupRc: 8 };
    }
    const next = this.swap === 'test' || this.swap === 'perm' || this.swap === 'revert' ? 1 : 0;
    if (!confirm && slot === 0) return { groupRc: 33 };
    if (this.swap === 'test') {
      if (!confirm && slot === next) return this.imageState();
      return { groupRc: 28 };
    }
    if (this.swap === 'none' || this.swap === 'perm') {
      if (confirm && slot === next) return this.imageState();
      if ((slot === 0 && next !== 0) || (!confirm && slot !== 0 && slot === next)) return { groupRc: 28 };
    }
    if (this.swap === 'revert') {
      if (confirm && slot === next) return this.imageState();
      if (!confirm) return { groupRc: 28 };
    }
    if (slot === 0) this.swap = 'none';
    else this.swap = confirm ? 'perm' : 'test';
    return this.imageState();
  }

  private imageUpload(b: Record<string, unknown>): Reply {
    const image = field(b, 'image', 'uint');
    const data = field(b, 'data', 'bytes');
    const len = field(b, 'len', 'uint');
    const off = field(b, 'off', 'uint');
    const sha = field(b, 'sha', 'bytes');
    const upgrade = field(b, 'upgrade', 'bool');
    if (
      image === INVALID ||
      data === INVALID ||
      len === INVALID ||
      off === INVALID ||
      sha === INVALID ||
      upgrade === INVALID
    )
      return { rc: 3 };
    if (off === undefined) return { groupRc: 20 };
    if ((image ?? 0) !== 0) return { groupRc: 14 };
    const chunk = data ?? Buffer.alloc(0);
    if (off === 0) {
      if (chunk.length < 32) return { groupRc: 22 };
      if (len === undefined) return { groupRc: 21 };
      if (len > this.o.slotSize) return { groupRc: 30 };
      if (sha && sha.length > 32) return { groupRc: 24 };
      if (chunk.readUInt32LE(0) !== 0x96f3b83d) return { groupRc: 23 };
      const u = this.imgUpload;
      if (sha && sha.length > 0 && u && u.sha.equals(sha) && u.off > 0) return { body: { off: u.off } };
      if (this.swap === 'test' || this.swap === 'perm' || this.swap === 'revert') return { groupRc: 9 };
      if (upgrade) {
        const v = readVersion(chunk);
        if (compareVersions(v, this.slots[0].version) <= 0) return { groupRc: 27 };
      }
      this.slots[1] = undefined;
      this.imgUpload = { off: 0, size: len, sha: Buffer.from(sha ?? []), data: Buffer.alloc(len) };
    } else {
      const u = this.imgUpload;
      if (!u || off !== u.off) return { body: { off: u?.off ?? 0 } };
      if (off + chunk.length > u.size) return { groupRc: 31 };
    }
    const u = this.imgUpload!;
    chunk.copy(u.data, u.off);
    u.off += chunk.length;
    this.onEvent({ event: 'img-upload', off, len: chunk.length });
    if (u.off < u.size) return { body: { off: u.off } };
    this.imgUpload = undefined;
    const match = u.sha.length === 32 ? sha256(u.data).equals(u.sha) : false;
    try {
      const parsed = parseMcubootImage(u.data);
      this.slots[1] = { data: u.data, version: parsed.version, hash: parsed.hash ?? sha256(u.data) };
    } catch {
      this.slots[1] = undefined;
    }
    return { body: { off: u.off, match } };
  }

  private imageErase(b: Record<string, unknown>): Reply {
    const slot = field(b, 'slot', 'uint');
    if (slot === INVALID) return { rc: 3 };
    if ((slot ?? 1) !== 1) return { groupRc: 9 };
    if (this.swap !== 'none') return { groupRc: 9 };
    this.slots[1] = undefined;
    this.imgUpload = undefined;
    return { body: {} };
  }

  /** MCUboot at boot: a pending test or permanent swap runs slot 1; an unconfirmed test reverts. */
  private applySwapOnBoot(): void {
    const [a, b] = this.slots;
    if ((this.swap === 'test' || this.swap === 'perm') && b) {
      this.slots = [b, a];
      this.swap = this.swap === 'test' ? 'revert' : 'none';
    } else if (this.swap === 'revert' && b) {
      this.slots = [b, a];
      this.swap = 'none';
    }
  }
}

function sha256(b: Uint8Array): Buffer {
  return crypto.createHash('sha256').update(b).digest();
}

type FieldType = { string: string; uint: number; bytes: Buffer; bool: boolean };

/** A request field as zcbor's bulk decoder reads it: absent is fine, the wrong type is EINVAL. */
function field<K extends keyof FieldType>(
  b: Record<string, unknown>,
  key: string,
  type: K,
): FieldType[K] | undefined | typeof INVALID {
  const v = b[key];
  if (v === undefined) return undefined;
  if (type === 'string') return typeof v === 'string' ? (v as FieldType[K]) : INVALID;
  if (type === 'uint')
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? (v as FieldType[K]) : INVALID;
  if (type === 'bool') return typeof v === 'boolean' ? (v as FieldType[K]) : INVALID;
  return v instanceof Uint8Array ? (Buffer.from(v) as FieldType[K]) : INVALID;
}

/** Group error codes under the original protocol (the groups' mg_translate_error functions). */
function translate(group: number, rc: number): number {
  switch (group) {
    case Group.os:
      return rc === 2 ? 3 : rc === 3 || rc === 4 ? 5 : 1;
    case Group.fs:
      return rc === 2 || rc === 13 ? 3 : rc === 3 || rc === 14 ? 5 : 1;
    case Group.shell:
      return rc === 2 || rc === 3 ? 3 : 1;
    case Group.image:
      if (rc === 3 || rc === 4) return 5;
      if (rc === 9 || rc === 27 || rc === 28) return 6;
      if (rc === 15) return 2;
      if ([14, 19, 20, 21, 22, 24, 25].includes(rc)) return 3;
      return 1;
    default:
      return 1;
  }
}

function splitShell(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

function readVersion(header: Buffer): string {
  return `${header.readUInt8(20)}.${header.readUInt8(21)}.${header.readUInt16LE(22)}`;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
