import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutpostError } from '../../lib/errors/index.js';
import { RuntimeErrorCode, type FileArtifact } from './types.js';

/** Writes a file so readers see the old or the new content, never a torn one (temp file, fsync, rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

export function readJsonFile<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** `<algorithm>:<hex>` of a file's bytes (sha256 or sha512, as OCI allows). */
export async function digestFile(file: string, algorithm: 'sha256' | 'sha512' = 'sha256'): Promise<string> {
  const h = createHash(algorithm);
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return `${algorithm}:${h.digest('hex')}`;
}

const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** Re-checks a file artifact against its digest (`runtime/digest-mismatch`, nothing changed). */
export async function verifyArtifact(a: FileArtifact, what: string): Promise<void> {
  if (!DIGEST.test(a.digest)) {
    throw new OutpostError(
      RuntimeErrorCode.invalidSpec,
      `${what}: "${a.digest}" is not a sha256 or sha512 digest`,
      {
        status: 400,
      },
    );
  }
  let actual: string;
  try {
    actual = await digestFile(a.path, a.digest.startsWith('sha512:') ? 'sha512' : 'sha256');
  } catch (e) {
    throw new OutpostError(
      RuntimeErrorCode.invalidSpec,
      `${what}: cannot read artifact ${a.path}: ${(e as Error).message}`,
      {
        cause: e,
        status: 400,
      },
    );
  }
  if (actual !== a.digest) {
    throw new OutpostError(
      RuntimeErrorCode.digestMismatch,
      `${what}: ${a.path} has digest ${actual}, expected ${a.digest}`,
      {
        status: 422,
        data: { expected: a.digest, actual },
      },
    );
  }
}

/** True if a process with this pid exists (and we may signal it). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a process (Linux /proc), or undefined where it cannot be read. */
export function processCommandLine(pid: number): string[] | undefined {
  try {
    return fs
      .readFileSync(path.join('/proc', String(pid), 'cmdline'), 'utf8')
      .split('\0')
      .filter(Boolean);
  } catch {
    return undefined;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new OutpostError('cancelled', 'cancelled'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new OutpostError('cancelled', 'cancelled'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * When this host booted (epoch ms). A workload that stopped before it was stopped by the shutdown,
 * whatever its exit code says, and must be started again rather than taken as finished.
 */
export function hostBootTime(): number {
  return Date.now() - os.uptime() * 1000;
}
