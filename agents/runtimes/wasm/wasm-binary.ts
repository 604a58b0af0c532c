/**
 * Just enough of the WebAssembly binary format (core spec section 5) to find a module's memories and
 * their limits, and to give a memory without a declared maximum one: the way the WASM runtime caps
 * module memory (a worker's resourceLimits cap only the JS heap). No dependencies: the runner bundles it.
 */

export const WASM_PAGE = 65536;

export interface MemoryDecl {
  /** Declared by an import (`module`/`name`) or by the module's own memory section. */
  imported: boolean;
  module?: string;
  name?: string;
  /** Pages. */
  min: number;
  max?: number;
  shared: boolean;
  memory64: boolean;
}

export class WasmFormatError extends Error {}

class Reader {
  pos: number;
  constructor(
    readonly b: Uint8Array,
    pos = 0,
    readonly end = b.length,
  ) {
    this.pos = pos;
  }
  byte(): number {
    if (this.pos >= this.end) throw new WasmFormatError(`unexpected end of module at byte ${this.pos}`);
    return this.b[this.pos++]!;
  }
  /** Unsigned LEB128 (up to 2^53, enough for u32 and for memory64 page counts in practice). */
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const x = this.byte();
      result += (x & 0x7f) * mul;
      if ((x & 0x80) === 0) return result;
      mul *= 128;
    }
    throw new WasmFormatError(`LEB128 number too long at byte ${this.pos}`);
  }
  name(): string {
    const n = this.uleb();
    if (this.pos + n > this.end) throw new WasmFormatError(`name runs past the end at byte ${this.pos}`);
    const s = new TextDecoder().decode(this.b.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  limits(): { min: number; max?: number; shared: boolean; memory64: boolean } {
    const flags = this.byte();
    if (flags > 7)
      throw new WasmFormatError(`unknown limits flags 0x${flags.toString(16)} at byte ${this.pos - 1}`);
    const min = this.uleb();
    const max = flags & 1 ? this.uleb() : undefined;
    return { min, max, shared: (flags & 2) !== 0, memory64: (flags & 4) !== 0 };
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let x = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) x |= 0x80;
    out.push(x);
  } while (n > 0);
  return out;
}

interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Offset of the content and its end. */
  contentStart: number;
  end: number;
}

function sections(b: Uint8Array): Section[] {
  if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) {
    throw new WasmFormatError('not a WebAssembly binary (missing \\0asm magic)');
  }
  const version = b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24);
  if (version !== 1) {
    throw new WasmFormatError(
      `binary version/layer 0x${version.toString(16)} is not a core module (version 1); components are not supported`,
    );
  }
  const r = new Reader(b, 8);
  const out: Section[] = [];
  while (r.pos < b.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.uleb();
    const contentStart = r.pos;
    const end = contentStart + size;
    if (end > b.length) throw new WasmFormatError(`section ${id} runs past the end of the module`);
    out.push({ id, start, contentStart, end });
    r.pos = end;
  }
  return out;
}

/** Every memory the module imports or defines, in index order (imports first). */
export function readMemories(bytes: Uint8Array): MemoryDecl[] {
  const out: MemoryDecl[] = [];
  for (const s of sections(bytes)) {
    const r = new Reader(bytes, s.contentStart, s.end);
    if (s.id === 2) {
      const count = r.uleb();
      for (let i = 0; i < count; i++) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        if (kind === 0) r.uleb();
        else if (kind === 1) {
          r.byte();
          r.limits();
        } else if (kind === 2) out.push({ imported: true, module, name, ...r.limits() });
        else if (kind === 3) {
          r.byte();
          r.byte();
        } else if (kind === 4) {
          r.byte();
          r.uleb();
        } else throw new WasmFormatError(`unknown import kind ${kind} for ${module}.${name}`);
      }
    } else if (s.id === 5) {
      const count = r.uleb();
      for (let i = 0; i < count; i++) out.push({ imported: false, ...r.limits() });
    }
  }
  return out;
}

export interface CappedModule {
  /** The module bytes, with `maxPages` written into defined memories that declared no maximum. */
  bytes: Uint8Array;
  memories: MemoryDecl[];
  /** For an imported memory: the `WebAssembly.Memory` to provide (limits within the cap). */
  importedMemory?: { module: string; name: string; initial: number; maximum: number };
}

export class MemoryLimitError extends Error {}

/**
 * Checks the module's memories against a cap of `maxPages` and makes growth past the cap impossible:
 * a declared maximum above the cap, or a minimum above it, is refused ({@link MemoryLimitError});
 * a defined memory without a maximum gets `maxPages` as its maximum; an imported memory is to be given
 * a `WebAssembly.Memory` whose maximum is the cap (or the smaller declared maximum).
 */
export function capModuleMemory(bytes: Uint8Array, maxPages: number): CappedModule {
  const memories = readMemories(bytes);
  const limitText = `${maxPages} pages (${maxPages * WASM_PAGE} bytes)`;
  for (const m of memories) {
    const where = m.imported ? `imported memory ${m.module}.${m.name}` : 'memory';
    if (m.memory64)
      throw new MemoryLimitError(`${where} is a 64-bit memory, which this runtime does not support`);
    if (m.min > maxPages) {
      throw new MemoryLimitError(
        `${where} needs at least ${m.min} pages (${m.min * WASM_PAGE} bytes), more than the limit of ${limitText}`,
      );
    }
    if (m.max !== undefined && m.max > maxPages) {
      throw new MemoryLimitError(
        `${where} declares a maximum of ${m.max} pages (${m.max * WASM_PAGE} bytes), more than the limit of ${limitText}`,
      );
    }
    if (m.shared)
      throw new MemoryLimitError(`${where} is a shared memory, which this runtime does not support`);
  }
  const imported = memories.find((m) => m.imported);
  const importedMemory = imported
    ? {
        module: imported.module!,
        name: imported.name!,
        initial: imported.min,
        maximum: Math.min(imported.max ?? maxPages, maxPages),
      }
    : undefined;
  const needsPatch = memories.some((m) => !m.imported && m.max === undefined);
  return { bytes: needsPatch ? withMaximum(bytes, maxPages) : bytes, memories, importedMemory };
}

/** Rewrites the memory section so that every memory without a maximum gets `maxPages`. */
function withMaximum(bytes: Uint8Array, maxPages: number): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  for (const s of sections(bytes)) {
    if (s.id !== 5) {
      parts.push(bytes.subarray(s.start, s.end));
      continue;
    }
    const r = new Reader(bytes, s.contentStart, s.end);
    const count = r.uleb();
    const content: number[] = [...uleb(count)];
    for (let i = 0; i < count; i++) {
      const l = r.limits();
      const flags = (l.shared ? 2 : 0) | (l.memory64 ? 4 : 0) | 1;
      content.push(flags, ...uleb(l.min), ...uleb(l.max ?? maxPages));
    }
    parts.push(Uint8Array.from([5, ...uleb(content.length), ...content]));
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface ExportDecl {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

const EXPORT_KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

/**
 * The module's exports, read from its export section: what `WebAssembly.Module.exports` says, without
 * compiling the module (the agent checks a module before handing it to the runner and compiles nothing).
 */
export function readExports(bytes: Uint8Array): ExportDecl[] {
  const out: ExportDecl[] = [];
  for (const s of sections(bytes)) {
    if (s.id !== 7) continue;
    const r = new Reader(bytes, s.contentStart, s.end);
    const count = r.uleb();
    for (let i = 0; i < count; i++) {
      const name = r.name();
      const k = r.byte();
      r.uleb();
      const kind = EXPORT_KINDS[k];
      if (!kind) throw new WasmFormatError(`unknown export kind ${k} for ${name}`);
      out.push({ name, kind });
    }
  }
  return out;
}
