import { WASI } from 'node:wasi';
import { wasmApi, type WasmImports, type WasmInstance, type WasmModule } from './webassembly.js';

/** What the supervisor gives the module thread. */
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
}

export type WorkerResult =
  | { type: 'exit'; exitCode: number }
  | { type: 'trap'; message: string; memoryBytes?: number }
  /** The module cannot run at all (missing `_start`, unresolvable imports): restarting will not help. */
  | { type: 'invalid'; message: string }
  | { type: 'error'; message: string };

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
  const im = input.importedMemory;
  if (im) {
    imports[im.module] = {
      ...imports[im.module],
      [im.name]: new WA.Memory({ initial: im.initial, maximum: im.maximum }),
    };
  }
  let instance: WasmInstance;
  try {
    instance = await WA.instantiate(input.module, imports);
  } catch (e) {
    post({ type: 'invalid', message: (e as Error).message });
    return;
  }
  try {
    post({ type: 'exit', exitCode: wasi.start(instance) });
  } catch (e) {
    const memory = instance.exports.memory;
    post({
      type: 'trap',
      message: (e as Error).message,
      memoryBytes: memory instanceof WA.Memory ? memory.buffer.byteLength : undefined,
    });
  }
}
