import { OutpostError } from '../errors/index.js';
import { decodeSmpMap, encodeCbor } from './cbor.js';
import { deviceError, errorOf, groupName } from './errors.js';
import { FrameDecoder, MAX_FRAME, encodeFrames, type FrameErrorReason } from './framing.js';
import { HEADER_SIZE, Op, decodeHeader, encodePacket, type OpCode, type SmpVersion } from './header.js';
import type { RequestOptions, SmpAnswer, SmpRequester } from './requester.js';
import { fsCommands, type FsCommands } from './fs.js';
import { imgCommands, type ImgCommands } from './img.js';
import { osCommands, type OsCommands } from './os.js';
import { shellCommands, type ShellCommands } from './shell.js';

/**
 * The byte stream to the device: a serialport SerialPort, a node Duplex, or an in-memory pair in
 * tests. The client only writes, listens and (when it owns the port) closes.
 */
export interface SmpPort {
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'close', listener: () => void): unknown;
  off(event: 'error', listener: (err: Error) => void): unknown;
}

export interface SmpClientOptions {
  /** The line's speed: pacing keeps writes at this rate. Default 115200. */
  baudRate?: number;
  /** Wait for an answer, per attempt, after the request has left. Default 5000 ms. */
  timeoutMs?: number;
  /** Attempts after the first for retryable requests. Default 2. */
  retries?: number;
  /** SMP protocol version bits: 1 ("SMP v2", default) or 0 (original). */
  version?: SmpVersion;
  /**
   * Frames the device can hold before it has processed them (Zephyr's
   * UART_MCUMGR_RX_BUF_COUNT, default 2). The client never gets further ahead of the line rate.
   */
  lineBuffers?: number;
  /** Longest frame line, marker and newline included. Default 127 (MCUMGR_SERIAL_MAX_FRAME). */
  maxFrame?: number;
  /** First sequence number (0-255). Default 0. */
  firstSequence?: number;
  /** Console text the device printed between frames (logs, prompts, boot banners). */
  onConsole?: (line: string) => void;
  /** Close the port when the client closes. Default false. */
  ownsPort?: boolean;
  /** Closes the port (called by close() when ownsPort). */
  closePort?: () => Promise<void>;
}

export interface SmpStats {
  requests: number;
  retries: number;
  timeouts: number;
  framesSent: number;
  bytesSent: number;
  bytesReceived: number;
  frameErrors: Partial<Record<FrameErrorReason, number>>;
  /** Extra milliseconds between frames after timeouts of multi-frame requests (0 at first). */
  extraGapMs: number;
}

interface Pending {
  sequences: Set<number>;
  op: OpCode;
  group: number;
  command: number;
  resolve(answer: SmpAnswer | OutpostError): void;
}

const MAX_EXTRA_GAP_MS = 50;

export class SmpClient implements SmpRequester {
  readonly os: OsCommands;
  readonly fs: FsCommands;
  readonly shell: ShellCommands;
  readonly img: ImgCommands;

  private readonly port: SmpPort;
  private readonly baud: number;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private version: SmpVersion;
  private readonly maxFrame: number;
  private readonly decoder = new FrameDecoder();
  private readonly onConsoleLine: ((line: string) => void) | undefined;
  private readonly consoleListeners = new Set<(line: string) => void>();
  private lineBuffers: number;
  private readonly configuredLineBuffers: number;
  private extraGapMs = 0;
  private goodSinceSlowDown = 0;
  private sequence: number;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closedError: OutpostError | undefined;
  private wireFreeAt = 0;
  private readonly counters: Omit<SmpStats, 'extraGapMs'> = {
    requests: 0,
    retries: 0,
    timeouts: 0,
    framesSent: 0,
    bytesSent: 0,
    bytesReceived: 0,
    frameErrors: {},
  };
  private readonly options: SmpClientOptions;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onClose = () =>
    this.fail(new OutpostError('smp/disconnected', 'the serial port closed (device unplugged?)'));
  private readonly onError = (err: Error) =>
    this.fail(new OutpostError('smp/disconnected', `the serial port failed: ${err.message}`, { cause: err }));

  constructor(port: SmpPort, options: SmpClientOptions = {}) {
    this.port = port;
    this.options = options;
    this.baud = options.baudRate ?? 115200;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.retries = options.retries ?? 2;
    this.version = options.version ?? 1;
    this.lineBuffers = Math.max(1, options.lineBuffers ?? 2);
    this.configuredLineBuffers = this.lineBuffers;
    this.maxFrame = options.maxFrame ?? MAX_FRAME;
    this.sequence = (options.firstSequence ?? 0) & 0xff;
    this.onConsoleLine = options.onConsole;
    if (!(this.baud > 0)) throw new OutpostError('invalid-input', `baud rate ${this.baud} must be positive`);
    port.on('data', this.onData);
    port.on('close', this.onClose);
    port.on('error', this.onError);
    this.os = osCommands(this);
    this.fs = fsCommands(this);
    this.shell = shellCommands(this, this);
    this.img = imgCommands(this);
  }

  /** Sends one request and returns the device's answer map; device errors are thrown. */
  request(
    op: OpCode,
    group: number,
    command: number,
    body: object,
    options: RequestOptions = {},
  ): Promise<SmpAnswer> {
    const what = options.what ?? `${groupName(group)} command ${command}`;
    return this.serialize(async () => {
      let answer = await this.exchange(op, group, command, body, what, options);
      // A server that knows SMP versions but not version 2 answers rc 13 (too new): speak the
      // original protocol from now on.
      if (this.version === 1 && answer.rc === 13 && answer.err === undefined) {
        this.version = 0;
        answer = await this.exchange(op, group, command, body, what, options);
      }
      if (options.raw) return answer;
      const error = errorOf(answer);
      if (error) throw deviceError(what, error);
      return answer;
    });
  }

  /** Listens to console lines (text outside frames) until the returned function is called. */
  watchConsole(listener: (line: string) => void): () => void {
    this.consoleListeners.add(listener);
    return () => this.consoleListeners.delete(listener);
  }

  /**
   * Calls `listener` once when the line goes away (port closed or failed, device unplugged) or the
   * client is closed; at once when that already happened. Returns a function that stops listening.
   */
  onDisconnect(listener: (err: OutpostError) => void): () => void {
    if (this.closedError) {
      listener(this.closedError);
      return () => undefined;
    }
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  /** Why the client can no longer talk to the device, or undefined while it can. */
  disconnected(): OutpostError | undefined {
    return this.closedError;
  }

  stats(): SmpStats {
    return { ...this.counters, frameErrors: { ...this.counters.frameErrors }, extraGapMs: this.extraGapMs };
  }

  /** Stops listening; closes the port when the client owns it. */
  async close(): Promise<void> {
    // What waits on the line (an answer, a write) ends now.
    if (!this.closedError) this.fail(new OutpostError('smp/disconnected', 'the SMP client is closed'));
    this.port.off('data', this.onData);
    this.port.off('close', this.onClose);
    this.port.off('error', this.onError);
    if (this.options.ownsPort && this.options.closePort) await this.options.closePort();
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchange(
    op: OpCode,
    group: number,
    command: number,
    body: object,
    what: string,
    options: RequestOptions,
  ): Promise<SmpAnswer> {
    if (this.closedError) throw this.closedError;
    const payload = encodeCbor(body);
    const retries = options.retryable ? (options.retries ?? this.retries) : 0;
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const sequences = new Set<number>();
    this.counters.requests++;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) this.counters.retries++;
      const sequence = this.sequence;
      this.sequence = (this.sequence + 1) & 0xff;
      sequences.add(sequence);
      const packet = encodePacket({ op, version: this.version, flags: 0, group, sequence, command }, payload);
      const frames = encodeFrames(packet, { maxFrame: this.maxFrame });
      const multiFrame = frames.length > 1;
      const answer = this.awaitAnswer({ sequences, op, group, command });
      try {
        await this.send(frames, options.signal);
      } catch (err) {
        this.pending = undefined;
        throw err;
      }
      const result = await this.withTimeout(
        answer.promise,
        timeoutMs + Math.max(0, this.wireFreeAt - performance.now()),
        options.signal,
      );
      if (result instanceof OutpostError) throw result;
      if (result !== TIMEOUT) {
        if (multiFrame) this.speedUp();
        return result;
      }
      this.pending = undefined;
      this.counters.timeouts++;
      if (multiFrame) this.slowDown();
    }
    throw new OutpostError(
      'smp/no-answer',
      `${what}: no answer from the device within ${Math.round(timeoutMs / 100) / 10} s` +
        (retries ? ` (${retries + 1} attempts)` : '') +
        ' (is it an SMP device at this port and speed?)',
      { data: { timeoutMs, attempts: retries + 1 } },
    );
  }

  /** After a lost multi-frame request: one frame at a time, with a growing gap (5, 10, 20, 40, 50 ms). */
  private slowDown(): void {
    this.lineBuffers = 1;
    this.extraGapMs = Math.min(MAX_EXTRA_GAP_MS, this.extraGapMs ? this.extraGapMs * 2 : 5);
    this.goodSinceSlowDown = 0;
  }

  /** Every 32 answered multi-frame requests, halve the extra gap; at 0, the line buffers count again. */
  private speedUp(): void {
    if (this.extraGapMs === 0 && this.lineBuffers === this.configuredLineBuffers) return;
    if (++this.goodSinceSlowDown < 32) return;
    this.goodSinceSlowDown = 0;
    this.extraGapMs = this.extraGapMs > 1 ? Math.floor(this.extraGapMs / 2) : 0;
    if (this.extraGapMs === 0) this.lineBuffers = this.configuredLineBuffers;
  }

  private awaitAnswer(p: Omit<Pending, 'resolve'>): { promise: Promise<SmpAnswer | OutpostError> } {
    let resolve!: (a: SmpAnswer | OutpostError) => void;
    const promise = new Promise<SmpAnswer | OutpostError>((r) => (resolve = r));
    this.pending = { ...p, resolve };
    return { promise };
  }

  private withTimeout(
    promise: Promise<SmpAnswer | OutpostError>,
    ms: number,
    signal?: AbortSignal,
  ): Promise<SmpAnswer | OutpostError | typeof TIMEOUT> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(() => resolve(TIMEOUT)), ms);
      const onAbort = () => done(() => reject(cancelled()));
      const onClosed = (err: OutpostError) => done(() => reject(err));
      const done = (fn: () => void) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.closeWaiters.delete(onClosed);
        fn();
      };
      if (signal?.aborted) return done(() => reject(cancelled()));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.closeWaiters.add(onClosed);
      promise.then(
        (a) => done(() => resolve(a)),
        (e: unknown) => done(() => reject(e)),
      );
    });
  }

  private readonly closeWaiters = new Set<(err: OutpostError) => void>();
  private readonly disconnectListeners = new Set<(err: OutpostError) => void>();

  /**
   * Writes frames at the line's pace: never more than `lineBuffers` frames ahead of what the line
   * (at `baudRate`, 10 bits a byte) has carried, plus the extra gap learned from lost requests.
   */
  private async send(frames: Buffer[], signal?: AbortSignal): Promise<void> {
    const fullFrameMs = (this.maxFrame * 10 * 1000) / this.baud;
    for (const frame of frames) {
      if (this.closedError) throw this.closedError;
      if (signal?.aborted) throw cancelled();
      const writeAt = this.wireFreeAt - (this.lineBuffers - 1) * fullFrameMs;
      const wait = writeAt - performance.now();
      if (wait > 0) await sleep(wait, signal);
      const now = performance.now();
      this.wireFreeAt =
        Math.max(this.wireFreeAt, now) + (frame.length * 10 * 1000) / this.baud + this.extraGapMs;
      await this.write(frame);
      this.counters.framesSent++;
      this.counters.bytesSent += frame.length;
    }
  }

  private write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      // A port that goes away may never call back: the write ends with the line.
      const onClosed = (err: OutpostError) => reject(err);
      this.closeWaiters.add(onClosed);
      const done = (fn: () => void) => {
        this.closeWaiters.delete(onClosed);
        fn();
      };
      try {
        this.port.write(data, (err) =>
          done(() =>
            err
              ? reject(
                  new OutpostError('smp/disconnected', `writing to the serial port failed: ${err.message}`, {
                    cause: err,
                  }),
                )
              : resolve(),
          ),
        );
      } catch (err) {
        done(() =>
          reject(
            new OutpostError(
              'smp/disconnected',
              `writing to the serial port failed: ${(err as Error).message}`,
              { cause: err },
            ),
          ),
        );
      }
    });
  }

  private receive(chunk: Buffer): void {
    this.counters.bytesReceived += chunk.length;
    for (const event of this.decoder.push(chunk)) {
      if (event.type === 'console') {
        this.onConsoleLine?.(event.line);
        for (const l of this.consoleListeners) l(event.line);
      } else if (event.type === 'error') {
        this.counters.frameErrors[event.reason] = (this.counters.frameErrors[event.reason] ?? 0) + 1;
      } else this.answer(event.packet);
    }
  }

  private answer(packet: Buffer): void {
    const p = this.pending;
    if (!p || packet.length < HEADER_SIZE) return;
    const h = decodeHeader(packet);
    // Answers to other requests (late answers of an earlier, timed-out request) are dropped.
    if (!p.sequences.has(h.sequence) || h.group !== p.group || h.command !== p.command || h.op !== p.op + 1)
      return;
    if (HEADER_SIZE + h.length > packet.length) return;
    let body: SmpAnswer | OutpostError;
    try {
      body = decodeSmpMap(packet.subarray(HEADER_SIZE, HEADER_SIZE + h.length));
    } catch (err) {
      body = new OutpostError(
        'smp/bad-response',
        `the device's answer is not readable: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    this.pending = undefined;
    p.resolve(body);
  }

  private fail(err: OutpostError): void {
    if (this.closedError) return;
    this.closedError = err;
    this.pending = undefined;
    for (const w of [...this.closeWaiters]) w(err);
    for (const l of [...this.disconnectListeners]) l(err);
    this.disconnectListeners.clear();
  }
}

const TIMEOUT = Symbol('timeout');

function cancelled(): OutpostError {
  return new OutpostError('cancelled', 'cancelled');
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function createSmpClient(port: SmpPort, options: SmpClientOptions = {}): SmpClient {
  return new SmpClient(port, options);
}

export { Op };
