import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Hash } from 'node:crypto';
import { isOutpostError } from '../errors/index.js';
import { networkError, ociError } from './errors.js';
import { createHasher, digestOf, hashInto, parseDigest } from './digest.js';
import type { Descriptor } from './media-types.js';
import { formatReference, type Reference } from './reference.js';
import type { Session } from './session.js';
import { discard, readLimited } from './transport.js';

export interface BlobProgress {
  digest: string;
  /** Bytes of the blob that are on disk and verified-so-far (hashed), including a resumed part. */
  received: number;
  total: number;
  /** Where this call started: the size of the partial file it resumed from (0 for a fresh download). */
  resumedFrom: number;
}

export interface FetchBlobOptions {
  /** Final path. The download goes to `<dest>.partial` and is renamed only after the digest check. */
  dest: string;
  onProgress?: (p: BlobProgress) => void;
  /** Cancels the download; the partial file stays for a later resume. */
  signal?: AbortSignal;
  /** How often to resume after a broken connection or a 5xx within this call. Default 3. */
  retries?: number;
  /** First pause before a retry (doubles each time). Default 250 ms. */
  retryDelayMs?: number;
}

export interface FetchedBlob {
  path: string;
  digest: string;
  size: number;
  /** Bytes that were already on disk in the partial file when this call started. */
  resumedFrom: number;
}

const FLUSH_BYTES = 1 << 20;

/**
 * Downloads one blob to `dest`, hashing while streaming. A partial file from an earlier, interrupted
 * attempt is re-hashed and continued with an HTTP Range request; a registry that ignores Range restarts
 * it. Size and digest are checked before the file is fsynced and renamed into place; on a mismatch the
 * partial file is deleted and `oci/digest-mismatch` thrown. A cancelled download keeps its partial file.
 * Callers must not fetch to the same `dest` concurrently.
 */
export async function fetchBlob(
  session: Session,
  ref: Reference,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  options: FetchBlobOptions,
): Promise<FetchedBlob> {
  const { digest, size } = descriptor;
  const { algorithm } = parseDigest(digest, 'blob digest');
  if (!Number.isSafeInteger(size) || size < 0)
    throw ociError(
      'oci/invalid-manifest',
      `blob ${digest}: size ${String(size)} is not a non-negative integer`,
    );
  const what = `${formatReference({ ...ref, tag: undefined, digest: undefined })}@${digest}`;
  const dest = path.resolve(options.dest);
  const partial = `${dest}.partial`;
  const retries = options.retries ?? 3;
  const retryDelay = options.retryDelayMs ?? 250;
  if (options.signal?.aborted) throw ociError('cancelled', `${what}: cancelled`);
  await fsp.mkdir(path.dirname(dest), { recursive: true });

  let have = 0;
  try {
    have = (await fsp.stat(partial)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const fh = await fsp.open(partial, 'a');
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await fh.close();
    }
  };
  try {
    if (have > size) {
      await fh.truncate(0);
      have = 0;
    }
    let hash: Hash = createHasher(algorithm);
    await hashInto(hash, partial, have);
    const resumedFrom = have;
    const restart = async () => {
      await fh.truncate(0);
      have = 0;
      hash = createHasher(algorithm);
    };

    let attempt = 0;
    while (have < size) {
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const chunks = pending;
        pending = [];
        pendingBytes = 0;
        await fh.writev(chunks);
      };
      try {
        const res = await session.request(ref, {
          method: 'GET',
          path: `blobs/${digest}`,
          headers: have > 0 ? { range: `bytes=${have}-` } : {},
          access: 'pull',
          signal: options.signal,
          what,
        });
        if (res.status === 416 && have > 0) {
          await discard(res);
          await restart();
          continue;
        }
        if (!res.ok) {
          if (res.status >= 500 || res.status === 429) {
            await discard(res);
            throw ociError('oci/registry-error', `${what}: the registry answered HTTP ${res.status}`, {
              status: res.status,
              retryable: true,
            });
          }
          await session.fail(res, what, 'blob');
        }
        if (have > 0 && res.status === 200) {
          await restart(); // the registry ignored the Range header: start again
        } else if (res.status === 206) {
          const start = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '')?.[1];
          if (Number(start) !== have) {
            await discard(res);
            await restart();
            continue;
          }
        }
        try {
          for await (const chunk of res.body) {
            if (have + chunk.length > size) {
              await discard(res);
              throw ociError(
                'oci/digest-mismatch',
                `${what}: the registry sent more than the ${size} bytes expected`,
                {
                  expected: digest,
                },
              );
            }
            hash.update(chunk);
            pending.push(chunk);
            pendingBytes += chunk.length;
            have += chunk.length;
            if (pendingBytes >= FLUSH_BYTES) {
              await flush();
              options.onProgress?.({ digest, received: have, total: size, resumedFrom });
            }
          }
        } catch (err) {
          throw networkError(err, what, 'https');
        }
        await flush();
        options.onProgress?.({ digest, received: have, total: size, resumedFrom });
        if (have < size)
          throw ociError('network-error', `${what}: the connection ended after ${have} of ${size} bytes`);
      } catch (err) {
        await flush(); // what arrived and was hashed is kept, so a resume continues after it
        const e = isOutpostError(err) ? err : networkError(err, what, 'https');
        const retryable =
          e.code === 'network-error' ||
          e.code === 'timeout' ||
          (e.code === 'oci/registry-error' &&
            (e.data as { retryable?: boolean } | undefined)?.retryable === true);
        if (!retryable || attempt >= retries || options.signal?.aborted) {
          if (e.code === 'oci/digest-mismatch') {
            await close();
            await fsp.rm(partial, { force: true });
          }
          throw e;
        }
        attempt++;
        session.logger?.warn(
          { digest, have, size, attempt, reason: e.message },
          'blob download interrupted; resuming',
        );
        try {
          await sleep(retryDelay * 2 ** (attempt - 1), undefined, { signal: options.signal });
        } catch {
          throw ociError('cancelled', `${what}: cancelled`);
        }
      }
    }

    const actual = `${algorithm}:${hash.digest('hex')}`;
    if (actual !== digest) {
      await close();
      await fsp.rm(partial, { force: true });
      throw ociError('oci/digest-mismatch', `${what}: the downloaded content has digest ${actual}`, {
        expected: digest,
        actual,
      });
    }
    await fh.sync();
    await close();
    await fsp.rename(partial, dest);
    await syncDir(path.dirname(dest));
    return { path: dest, digest, size, resumedFrom };
  } finally {
    await close();
  }
}

/**
 * Fetches a small blob (a config, a description) into memory, verifying size and digest. Embedded
 * descriptor `data` is used without a request.
 */
export async function fetchBlobBytes(
  session: Session,
  ref: Reference,
  descriptor: Pick<Descriptor, 'digest' | 'size' | 'data'>,
  options: { maxBytes?: number; signal?: AbortSignal } = {},
): Promise<Buffer> {
  const { digest, size } = descriptor;
  const { algorithm } = parseDigest(digest, 'blob digest');
  const what = `${formatReference({ ...ref, tag: undefined, digest: undefined })}@${digest}`;
  const max = options.maxBytes ?? 4 * 1024 * 1024;
  if (size > max)
    throw ociError('oci/size-exceeded', `${what}: the blob is ${size} bytes, more than the ${max} allowed`);
  let bytes: Buffer;
  if (typeof descriptor.data === 'string') {
    bytes = Buffer.from(descriptor.data, 'base64');
  } else {
    const res = await session.request(ref, {
      method: 'GET',
      path: `blobs/${digest}`,
      access: 'pull',
      signal: options.signal,
      what,
    });
    if (!res.ok) return session.fail(res, what, 'blob');
    bytes = await readLimited(res, size, what).catch((err: unknown) => {
      if (isOutpostError(err, 'oci/size-exceeded'))
        throw ociError(
          'oci/digest-mismatch',
          `${what}: the registry sent more than the ${size} bytes expected`,
        );
      throw err;
    });
  }
  const actual = digestOf(bytes, algorithm);
  if (bytes.length !== size || actual !== digest)
    throw ociError(
      'oci/digest-mismatch',
      `${what}: the content has digest ${actual} (${bytes.length} bytes)`,
      {
        expected: digest,
        actual,
      },
    );
  return bytes;
}

async function syncDir(dir: string): Promise<void> {
  let dh: fsp.FileHandle | undefined;
  try {
    dh = await fsp.open(dir, 'r');
    await dh.sync();
  } catch {
    // not supported on every platform; the rename itself is atomic
  } finally {
    await dh?.close();
  }
}
