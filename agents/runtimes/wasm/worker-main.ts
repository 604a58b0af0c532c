import { WASI } from 'node:wasi';
import { wasmApi, type WasmImports, type WasmInstance, type WasmModule } from './webassembly.js';

/** What the runner gives a module's thread. */
export interface WorkerInput {
  role: 'outpost-wasm-module';
  module: WasmModule;
  programName: string;
  args: string[];
  env: Record<string, string>;
  dataDir: string;
  stdoutFd: number;
  stderrFd: number;
  importedMemory?: { module: string; name: string; initial: number; maximum: number };
  /** One Int32 the runner sets to 1 (and notifies) to stop the module: a sleep in WASI ends at once. */
  stop: SharedArrayBuffer;
}

export type WorkerResult =
  | { type: 'exit'; exitCode: number }
  | { type: 'trap'; message: string; memoryBytes?: number }
  /** The module cannot run at all (missing `_start`, unresolvable imports): restarting will not help. */
  | { type: 'invalid'; message: string }
  | { type: 'error'; message: string };

const WASI_NS = 'wasi_snapshot_preview1';
const ERRNO_SUCCESS = 0;
const ERRNO_INVAL = 28;
/** A subscription is 48 bytes, an event 32 (WASI preview1 `subscription`, `event`). */
const SUBSCRIPTION_BYTES = 48;
const EVENT_BYTES = 32;
const EVENTTYPE_CLOCK = 0;
const CLOCK_REALTIME = 0;
const SUBCLOCKFLAGS_ABSTIME = 1;

class Stopped extends Error {}

/**
 * `poll_oneoff` for subscriptions that are all clocks (a sleep, the common case): waits on the stop word
 * instead of blocking inside libuv, so the runner can stop one module promptly without ending the
 * process that runs the others (ADR 0544). Anything with a file descriptor goes to node:wasi's own.
 */
function interruptiblePoll(
  memory: () => ArrayBuffer,
  stop: Int32Array,
  fallback: (...a: number[]) => number,
): (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number) => number {
  return (inPtr, outPtr, nsubs, neventsPtr) => {
    if (Atomics.load(stop, 0) !== 0) throw new Stopped('stopped');
    if (nsubs === 0) return ERRNO_INVAL;
    const view = new DataView(memory());
    const nowNs = (clock: number) =>
      clock === CLOCK_REALTIME ? BigInt(Date.now()) * 1_000_000n : process.hrtime.bigint();
    const deadlines: bigint[] = [];
    for (let i = 0; i < nsubs; i++) {
      const s = inPtr + i * SUBSCRIPTION_BYTES;
      if (view.getUint8(s + 8) !== EVENTTYPE_CLOCK) return fallback(inPtr, outPtr, nsubs, neventsPtr);
      const clock = view.getUint32(s + 16, true);
      const timeout = view.getBigUint64(s + 24, true);
      const flags = view.getUint16(s + 40, true);
      // The relative wait of this subscription, in ns, from now.
      deadlines.push(flags & SUBCLOCKFLAGS_ABSTIME ? timeout - nowNs(clock) : timeout);
    }
    const start = process.hrtime.bigint();
    const wait = deadlines.reduce((a, b) => (b < a ? b : a));
    if (wait > 0n) {
      const ms = Number(wait / 1_000_000n) + (wait % 1_000_000n > 0n ? 1 : 0);
      Atomics.wait(stop, 0, 0, ms);
      if (Atomics.load(stop, 0) !== 0) throw new Stopped('stopped');
    }
    const waited = process.hrtime.bigint() - start;
    const out = new DataView(memory());
    let n = 0;
    for (let i = 0; i < nsubs; i++) {
      if (deadlines[i]! > waited) continue;
      const s = inPtr + i * SUBSCRIPTION_BYTES;
      const e = outPtr + n * EVENT_BYTES;
      for (let b = 0; b < EVENT_BYTES; b++) out.setUint8(e + b, 0);
      out.setBigUint64(e, out.getBigUint64(s, true), true);
      out.setUint8(e + 10, EVENTTYPE_CLOCK);
      n++;
    }
    // The earliest deadline has passed (the wait ended without a stop): at least one event.
    if (n === 0) {
      const i = deadlines.indexOf(wait);
      const e = outPtr;
      for (let b = 0; b < EVENT_BYTES; b++) out.setUint8(e + b, 0);
      out.setBigUint64(e, out.getBigUint64(inPtr + i * SUBSCRIPTION_BYTES, true), true);
      out.setUint8(e + 10, EVENTTYPE_CLOCK);
      n = 1;
    }
    out.setUint32(neventsPtr, n, true);
    return ERRNO_SUCCESS;
  };
}

/** Runs the module once in this (worker) thread and reports how it ended. */
export async function runModule(input: WorkerInput, post: (r: WorkerResult) => void): Promise<void> {
  const WA = wasmApi();
  const exports = WA.Module.exports(input.module);
  if (!exports.some((e) => e.name === '_start' && e.kind === 'function')) {
    post({ type: 'invalid', message: 'the module exports no _start function (not a WASI command module)' });
    return;
  }
  if (!exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    post({ type: 'invalid', message: 'the module exports no memory named "memory", which WASI needs' });
    return;
  }
  const wasi = new WASI({
    version: 'preview1',
    args: [input.programName, ...input.args],
    env: input.env,
    preopens: { '/data': input.dataDir },
    stdout: input.stdoutFd,
    stderr: input.stderrFd,
    returnOnExit: true,
  });
  const imports = wasi.getImportObject() as WasmImports;
  let instance: WasmInstance | undefined;
  const stop = new Int32Array(input.stop);
  const memory = () => (instance!.exports.memory as { buffer: ArrayBuffer }).buffer;
  const ns = imports[WASI_NS]!;
  ns.poll_oneoff = interruptiblePoll(memory, stop, ns.poll_oneoff as (...a: number[]) => number);
  const im = input.importedMemory;
  if (im) {
    imports[im.module] = {
      ...imports[im.module],
      [im.name]: new WA.Memory({ initial: im.initial, maximum: im.maximum }),
    };
  }
  try {
    instance = await WA.instantiate(input.module, imports);
  } catch (e) {
    post({ type: 'invalid', message: (e as Error).message });
    return;
  }
  try {
    post({ type: 'exit', exitCode: wasi.start(instance) });
  } catch (e) {
    if (e instanceof Stopped) return;
    const mem = instance.exports.memory;
    post({
      type: 'trap',
      message: (e as Error).message,
      memoryBytes: mem instanceof WA.Memory ? mem.buffer.byteLength : undefined,
    });
  }
}
