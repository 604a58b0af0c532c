import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileWatFixture } from '../../../test/fixtures/wasm/compile.js';
import {
  capModuleMemory,
  MemoryLimitError,
  readExports,
  readMemories,
  WASM_PAGE,
  WasmFormatError,
} from './wasm-binary.js';
import { wasmApi } from './webassembly.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-wasm-binary-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('readMemories', () => {
  it('finds a defined memory without a maximum', async () => {
    const { bytes } = await compileWatFixture('grow', dir);
    expect(readMemories(bytes)).toEqual([
      { imported: false, min: 1, max: undefined, shared: false, memory64: false },
    ]);
  });

  it('finds a declared maximum', async () => {
    const { bytes } = await compileWatFixture('big-max', dir);
    expect(readMemories(bytes)).toEqual([
      { imported: false, min: 1, max: 2048, shared: false, memory64: false },
    ]);
  });

  it('finds an imported memory after other imports', async () => {
    const { bytes } = await compileWatFixture('import-memory', dir);
    expect(readMemories(bytes)).toEqual([
      {
        imported: true,
        module: 'env',
        name: 'memory',
        min: 1,
        max: undefined,
        shared: false,
        memory64: false,
      },
    ]);
  });

  it('refuses what is not a core module', () => {
    expect(() => readMemories(new TextEncoder().encode('#!/bin/sh\necho hi\n'))).toThrow(WasmFormatError);
    // A component-model binary: same magic, version/layer 0x0d 0x00 0x01 0x00.
    expect(() => readMemories(Uint8Array.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]))).toThrow(
      /not a core module/,
    );
    // A section that claims more bytes than there are.
    expect(() => readMemories(Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 10, 1]))).toThrow(
      /past the end/,
    );
  });
});

describe('capModuleMemory', () => {
  it('writes the cap as maximum into a memory that declared none, and growth stops there', async () => {
    const { bytes } = await compileWatFixture('grow', dir);
    const capped = capModuleMemory(bytes, 16);
    expect(readMemories(capped.bytes)[0]).toMatchObject({ min: 1, max: 16 });
    const WA = wasmApi();
    const inst = await WA.instantiate(new WA.Module(capped.bytes), {
      wasi_snapshot_preview1: { fd_write: () => 0 },
    });
    const mem = inst.exports.memory as { grow(n: number): number; buffer: ArrayBuffer };
    expect(mem.grow(15)).toBe(1);
    expect(() => mem.grow(1)).toThrow(RangeError);
    expect(mem.buffer.byteLength).toBe(16 * WASM_PAGE);
  });

  it('leaves a module whose maximum is within the cap unchanged', async () => {
    const { bytes } = await compileWatFixture('big-max', dir);
    expect(capModuleMemory(bytes, 4096).bytes).toBe(bytes);
  });

  it('refuses a declared maximum above the cap, naming both sizes', async () => {
    const { bytes } = await compileWatFixture('big-max', dir);
    expect(() => capModuleMemory(bytes, 1024)).toThrow(MemoryLimitError);
    expect(() => capModuleMemory(bytes, 1024)).toThrow(
      'memory declares a maximum of 2048 pages (134217728 bytes), more than the limit of 1024 pages (67108864 bytes)',
    );
  });

  it('refuses a minimum above the cap', async () => {
    const { bytes } = await compileWatFixture('grow', dir);
    expect(() => capModuleMemory(bytes, 0)).toThrow(/needs at least 1 pages/);
  });

  it('describes the memory to provide for an imported memory', async () => {
    const { bytes } = await compileWatFixture('import-memory', dir);
    const capped = capModuleMemory(bytes, 32);
    expect(capped.bytes).toBe(bytes);
    expect(capped.importedMemory).toEqual({ module: 'env', name: 'memory', initial: 1, maximum: 32 });
  });
});

describe('readExports', () => {
  it('reads what the engine reads, without compiling', async () => {
    for (const f of ['service', 'import-memory', 'trap', 'echo-env'] as const) {
      const { bytes } = await compileWatFixture(f, dir);
      const engine = wasmApi().Module.exports(new (wasmApi().Module)(bytes));
      expect(readExports(bytes)).toEqual(engine.map((e) => ({ name: e.name, kind: e.kind })));
      expect(readExports(bytes)).toContainEqual({ name: '_start', kind: 'function' });
    }
  });

  it('refuses a cut-off export section', async () => {
    const { bytes } = await compileWatFixture('service', dir);
    expect(() => readExports(bytes.subarray(0, bytes.length - 3))).toThrow(WasmFormatError);
  });
});
