import crypto from 'node:crypto';
import { OutpostError } from '../errors/index.js';
import { maxDataLength } from './chunking.js';
import { isDeviceError, isNotSupported } from './errors.js';
import { Group, Op } from './header.js';
import { OsCommand, bytes, str, uint } from './os.js';
import type { SmpRequester } from './requester.js';

/** File system group (8). */
export const FsCommand = { file: 0, stat: 1, hash: 2, supportedHashes: 3, close: 4 } as const;

/** Receive buffer assumed when the device does not answer MCUmgr parameters (Zephyr's default). */
export const DEFAULT_BUF_SIZE = 384;

export interface TransferProgress {
  done: number;
  total: number;
}

export interface UploadOptions {
  onProgress?: (p: TransferProgress) => void;
  signal?: AbortSignal;
  /** Continue a partial copy already on the device when its bytes match ours. Default true. */
  resume?: boolean;
  /** Check the device's SHA-256 of the whole file afterwards. Default true. */
  verify?: boolean;
}

export interface UploadResult {
  name: string;
  size: number;
  sha256: string;
  /** Offset the upload started at (> 0 when a partial copy was resumed). */
  resumedFrom: number;
  /** The device already had exactly this file; nothing was sent. */
  upToDate: boolean;
  /** How the copy was checked: the device's SHA-256, its length only (no hash support), or not. */
  verified: 'sha256' | 'size' | 'none';
  requests: number;
}

export interface DownloadResult {
  name: string;
  data: Buffer;
  sha256: string;
  verified: 'sha256' | 'size';
}

export interface FsCommands {
  stat(name: string): Promise<{ len: number }>;
  /** SHA-256 (or the device's default hash) of a file or of `len` bytes from `off`. */
  hash(
    name: string,
    options?: { type?: string; off?: number; len?: number },
  ): Promise<{ type: string; len: number; output: Uint8Array | number }>;
  /** Closes the file an interrupted transfer left open on the device. */
  close(): Promise<void>;
  upload(name: string, data: Uint8Array, options?: UploadOptions): Promise<UploadResult>;
  download(
    name: string,
    options?: { onProgress?: (p: TransferProgress) => void; signal?: AbortSignal; maxBytes?: number },
  ): Promise<DownloadResult>;
  /** The device's receive buffer (MCUmgr params), asked once. */
  bufSize(): Promise<number>;
}

const sha256 = (b: Uint8Array) => crypto.createHash('sha256').update(b).digest();

function checkName(name: string): void {
  if (typeof name !== 'string' || !name.startsWith('/') || name.length > 255 || /[\0\n]/.test(name))
    throw new OutpostError(
      'invalid-input',
      `device path "${name}" must be absolute, like /lfs/ocre/images/app.wasm`,
    );
}

export function fsCommands(c: SmpRequester): FsCommands {
  let bufSizeCache: Promise<number> | undefined;

  const self: FsCommands = {
    bufSize() {
      bufSizeCache ??= c
        .request(Op.read, Group.os, OsCommand.params, {}, { what: 'mcumgr parameters', retryable: true })
        .then((a) => Math.max(64, uint(a.buf_size, 'buf_size')))
        .catch((err: unknown) => {
          if (isNotSupported(err)) return DEFAULT_BUF_SIZE;
          bufSizeCache = undefined;
          throw err;
        });
      return bufSizeCache;
    },

    async stat(name) {
      checkName(name);
      const a = await c.request(
        Op.read,
        Group.fs,
        FsCommand.stat,
        { name },
        { what: `stat of ${name}`, retryable: true },
      );
      return { len: uint(a.len, 'file length') };
    },

    async hash(name, options = {}) {
      checkName(name);
      const a = await c.request(
        Op.read,
        Group.fs,
        FsCommand.hash,
        { name, type: options.type, off: options.off, len: options.len },
        { what: `hash of ${name}`, retryable: true },
      );
      const output = a.output instanceof Uint8Array ? a.output : uint(a.output, 'hash output');
      return { type: str(a.type, 'hash type'), len: uint(a.len, 'hashed length'), output };
    },

    async close() {
      await c.request(
        Op.write,
        Group.fs,
        FsCommand.close,
        {},
        { what: 'close of the open file', retryable: true },
      );
    },

    async upload(name, data, options = {}) {
      checkName(name);
      const total = data.length;
      const digest = sha256(data);
      const bufSize = await self.bufSize();
      let start = 0;
      if (options.resume !== false) start = await resumePoint(self, name, data);
      if (start === total && total > 0) {
        return {
          name,
          size: total,
          sha256: digest.toString('hex'),
          resumedFrom: start,
          upToDate: true,
          verified: 'sha256',
          requests: 0,
        };
      }
      let off = start;
      let requests = 0;
      let jumps = 0;
      let stalls = 0;
      options.onProgress?.({ done: off, total });
      do {
        if (options.signal?.aborted)
          throw new OutpostError('cancelled', 'cancelled', { data: { offset: off } });
        const head =
          off === 0
            ? { off: 0, data: new Uint8Array(0), name, len: total }
            : { off, data: new Uint8Array(0), name };
        const n = maxDataLength(bufSize, head, total - off);
        const chunk = data.subarray(off, off + n);
        const body = off === 0 ? { off: 0, data: chunk, name, len: total } : { off, data: chunk, name };
        requests++;
        let next: number;
        try {
          const a = await c.request(Op.write, Group.fs, FsCommand.file, body, {
            what: `upload of ${name} at ${off}`,
            retryable: true,
            signal: options.signal,
          });
          next = uint(a.off, 'upload offset');
        } catch (err) {
          // FILE_OFFSET_NOT_VALID: the device's copy ends elsewhere (an answer got lost, or the
          // device restarted). It says where (`len`); continue there if that is data we sent.
          const len = (err as OutpostError).data as { response?: { len?: unknown } } | undefined;
          const at = len?.response?.len;
          if (
            isDeviceError(err, 11, Group.fs) &&
            typeof at === 'number' &&
            at <= off + chunk.length &&
            jumps < 8
          ) {
            jumps++;
            next = at;
          } else throw withOffset(err, off);
        }
        if (next > total)
          throw new OutpostError(
            'smp/bad-response',
            `the device reports offset ${next} past the end (${total})`,
          );
        stalls = next <= off && total > 0 ? stalls + 1 : 0;
        if (stalls > 3)
          throw new OutpostError('smp/bad-response', `the upload of ${name} makes no progress at ${off}`);
        off = next;
        options.onProgress?.({ done: off, total });
      } while (off < total);
      // Zephyr keeps the file open when it does not know the total (resumed uploads); close it so
      // the hash below reads what was written. Older firmware has no close command.
      await self.close().catch((err: unknown) => {
        if (!isNotSupported(err)) throw err;
      });
      const verified = options.verify === false ? 'none' : await verify(self, name, total, digest);
      return {
        name,
        size: total,
        sha256: digest.toString('hex'),
        resumedFrom: start,
        upToDate: false,
        verified,
        requests,
      };
    },

    async download(name, options = {}) {
      checkName(name);
      const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
      let total = -1;
      let off = 0;
      const parts: Uint8Array[] = [];
      do {
        if (options.signal?.aborted) throw new OutpostError('cancelled', 'cancelled');
        const a = await c.request(
          Op.read,
          Group.fs,
          FsCommand.file,
          { off, name },
          {
            what: `download of ${name} at ${off}`,
            retryable: true,
            signal: options.signal,
          },
        );
        if (uint(a.off, 'download offset') !== off)
          throw new OutpostError(
            'smp/bad-response',
            `the device answered offset ${String(a.off)} to a request for ${off}`,
          );
        if (off === 0) {
          total = uint(a.len, 'file length');
          if (total > maxBytes)
            throw new OutpostError(
              'payload-too-large',
              `${name} is ${total} bytes, more than the ${maxBytes} allowed`,
            );
        }
        const chunk = bytes(a.data, 'file data');
        if (chunk.length === 0 && off < total)
          throw new OutpostError('smp/bad-response', `the download of ${name} makes no progress at ${off}`);
        if (off + chunk.length > total)
          throw new OutpostError(
            'smp/bad-response',
            `the device sent more than the ${total} bytes it announced`,
          );
        parts.push(chunk);
        off += chunk.length;
        options.onProgress?.({ done: off, total });
      } while (off < total);
      const data = Buffer.concat(parts);
      const digest = sha256(data);
      const verified = await verify(self, name, total, digest);
      return { name, data, sha256: digest.toString('hex'), verified };
    },
  };
  return self;
}

/**
 * Where to continue: the length of the device's copy when its bytes are the start of ours
 * (checked with the device's SHA-256 of that prefix), else 0. No hash support means no resume.
 */
async function resumePoint(fs: FsCommands, name: string, data: Uint8Array): Promise<number> {
  let len: number;
  try {
    len = (await fs.stat(name)).len;
  } catch (err) {
    if (err instanceof OutpostError && err.code === 'smp/device-error') return 0;
    throw err;
  }
  if (len === 0 || len > data.length) return 0;
  try {
    const h = await fs.hash(name, { type: 'sha256', len });
    if (
      h.output instanceof Uint8Array &&
      h.len === len &&
      Buffer.from(h.output).equals(sha256(data.subarray(0, len)))
    )
      return len;
  } catch (err) {
    if (!(err instanceof OutpostError && err.code === 'smp/device-error')) throw err;
  }
  return 0;
}

async function verify(
  fs: FsCommands,
  name: string,
  total: number,
  digest: Buffer,
): Promise<'sha256' | 'size'> {
  if (total > 0) {
    try {
      const h = await fs.hash(name, { type: 'sha256' });
      if (h.output instanceof Uint8Array) {
        if (h.len === total && Buffer.from(h.output).equals(digest)) return 'sha256';
        throw new OutpostError(
          'smp/hash-mismatch',
          `${name} on the device (${h.len} bytes, sha256 ${Buffer.from(h.output).toString('hex').slice(0, 16)}...) differs from the local file (${total} bytes, ${digest.toString('hex').slice(0, 16)}...)`,
        );
      }
    } catch (err) {
      // No hash command or no SHA-256 on this firmware: check the length instead.
      if (!(isNotSupported(err) || isDeviceError(err, 13, Group.fs) || isDeviceError(err, 3))) throw err;
    }
  }
  const { len } = await fs.stat(name);
  if (len !== total)
    throw new OutpostError(
      'smp/hash-mismatch',
      `${name} on the device has ${len} bytes, the local file ${total}`,
    );
  return 'size';
}

function withOffset(err: unknown, off: number): unknown {
  if (err instanceof OutpostError && err.code === 'smp/no-answer')
    return new OutpostError(err.code, err.message, {
      data: { ...(err.data as object), offset: off },
      cause: err,
    });
  return err;
}
