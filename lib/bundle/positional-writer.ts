import type { FileHandle } from 'node:fs/promises';
import { bundleError } from './errors.js';

/**
 * Writes chunks at given positions with a few writes in flight, so hashing the next chunk (on the
 * calling thread) overlaps with writing the previous ones (on libuv's pool). A failed write is
 * reported by the next `write` or by `flush` as `bundle/write-failed` (a full drive: ENOSPC). Callers
 * flush before reusing a position.
 */
export class PositionalWriter {
  private readonly inFlight: Promise<void>[] = [];
  private error: unknown;

  constructor(
    private readonly fh: FileHandle,
    private readonly file: string,
    private readonly maxInFlight = 4,
  ) {}

  /** Queues `bytes` (which must not change until flushed) at `position`; waits while too many are queued. */
  async write(bytes: Uint8Array, position: number): Promise<void> {
    this.throwIfFailed();
    const p = this.fh.write(bytes, 0, bytes.length, position).then(
      () => undefined,
      (err: unknown) => {
        this.error ??= err;
      },
    );
    this.inFlight.push(p);
    if (this.inFlight.length >= this.maxInFlight) await this.inFlight.shift();
    this.throwIfFailed();
  }

  /** Waits for every queued write. */
  async flush(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.error === undefined) return;
    const e = this.error as NodeJS.ErrnoException;
    const reason = e.code === 'ENOSPC' ? 'the disk is full' : e.message;
    throw bundleError('bundle/write-failed', `cannot write ${this.file}: ${reason}`, { errno: e.code }, e);
  }
}
