/**
 * Types for the part of the global `WebAssembly` API the runtime uses. The project compiles without the
 * DOM library (which is where TypeScript declares `WebAssembly`), so this names the subset explicitly.
 */
export interface WasmModule {
  readonly __wasmModule?: never;
}
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export type WasmImports = Record<string, Record<string, unknown>>;
export interface WasmExportDescriptor {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

export interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    exports(m: WasmModule): WasmExportDescriptor[];
  };
  Memory: { new (d: { initial: number; maximum?: number }): WasmMemory; prototype: WasmMemory };
  compile(bytes: Uint8Array): Promise<WasmModule>;
  validate(bytes: Uint8Array): boolean;
  instantiate(m: WasmModule, imports: WasmImports): Promise<WasmInstance>;
}

/** The engine's `WebAssembly` global. */
export function wasmApi(): WasmApi {
  return (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
}
