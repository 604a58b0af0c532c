import { bundleError } from './errors.js';

/**
 * Pulls exact byte counts out of a stream of chunks without copying more than a header's worth: `read`
 * for headers and small entries, `take` to stream an entry's data as slices of the incoming chunks.
 * Running out of input is `bundle/truncated`.
 */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private chunk: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes consumed so far. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    while (this.chunk.length === 0) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      const v = r.value as Uint8Array | string;
      this.chunk = typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    }
    return true;
  }

  /** Exactly `n` bytes (copied into one buffer). */
  async read(n: number, what: string): Promise<Buffer> {
    const out = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      if (!(await this.fill())) throw truncated(what, this.position);
      const k = Math.min(n - got, this.chunk.length);
      this.chunk.copy(out, got, 0, k);
      this.chunk = this.chunk.subarray(k);
      got += k;
      this.position += k;
    }
    return out;
  }

  /** `n` bytes as slices of the input chunks (valid until the next call). */
  async *take(n: number, what: string): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill())) throw truncated(what, this.position);
      const k = Math.min(left, this.chunk.length);
      const slice = this.chunk.subarray(0, k);
      this.chunk = this.chunk.subarray(k);
      left -= k;
      this.position += k;
      yield slice;
    }
  }

  /** Whatever is available next, up to `max` bytes; undefined at the end of the input. */
  async next(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    const k = Math.min(max, this.chunk.length);
    const slice = this.chunk.subarray(0, k);
    this.chunk = this.chunk.subarray(k);
    this.position += k;
    return slice;
  }

  /** True at the end of the input. */
  async atEnd(): Promise<boolean> {
    return !(await this.fill());
  }

  /** Releases the input (stops a file stream). */
  async close(): Promise<void> {
    this.done = true;
    this.chunk = Buffer.alloc(0);
    try {
      await this.it.return?.();
    } catch {
      // the input's own error was already reported, or does not matter any more
    }
  }
}

function truncated(what: string, at: number): Error {
  return bundleError('bundle/truncated', `the bundle is truncated: it ends at byte ${at}, inside ${what}`, {
    at,
  });
}
