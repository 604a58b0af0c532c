import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../lib/base/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import { bundleError } from './errors.js';

/**
 * Bundle files uploaded from the console's file picker, in chunks through the contract (so the desktop's
 * IPC and the web portal's HTTP carry them alike): `<home>/bundles/uploads/<id>.tar`. A finished upload
 * is verified and imported by its id; uploads are removed after a day.
 */
export interface Uploads {
  readonly chunkBytes: number;
  start(name: string, size: number): Promise<{ uploadId: string }>;
  append(uploadId: string, offset: number, data: Buffer): Promise<number>;
  finish(uploadId: string): Promise<{ uploadId: string; size: number }>;
  /** The file of a finished upload. */
  file(uploadId: string): string;
  /** The name the file had where it was picked. */
  name(uploadId: string): string;
  remove(uploadId: string): Promise<void>;
  prune(maxAgeMs: number): Promise<void>;
}

interface Upload {
  name: string;
  size: number;
  received: number;
  finished: boolean;
  at: number;
}

export const UPLOAD_CHUNK_BYTES = 4 * 1024 * 1024;

export function createUploads(deps: {
  dir: string;
  clock: Clock;
  freeSpace?: (dir: string) => Promise<number>;
}): Uploads {
  const uploads = new Map<string, Upload>();
  const fileOf = (id: string) => path.join(deps.dir, `${id}.tar`);
  const freeSpace =
    deps.freeSpace ??
    (async (dir: string) => {
      const s = await fsp.statfs(dir);
      return s.bavail * s.bsize;
    });
  const get = (id: string) => {
    const u = uploads.get(id);
    if (!u) throw errors.notFound('upload', id);
    return u;
  };
  // One append at a time per upload: chunks arrive in order, but a retried request must not interleave.
  const locks = new Map<string, Promise<unknown>>();

  return {
    chunkBytes: UPLOAD_CHUNK_BYTES,
    async start(name, size) {
      await fsp.mkdir(deps.dir, { recursive: true, mode: 0o700 });
      const free = await freeSpace(deps.dir);
      if (free < size)
        throw bundleError(
          'bundle/no-space',
          `uploading ${name} needs ${size} bytes and ${deps.dir} has ${free} free`,
        );
      const uploadId = crypto.randomBytes(12).toString('base64url');
      await fsp.writeFile(fileOf(uploadId), '', { mode: 0o600, flag: 'wx' });
      uploads.set(uploadId, { name, size, received: 0, finished: false, at: deps.clock.now() });
      return { uploadId };
    },
    append(uploadId, offset, data) {
      const prev = locks.get(uploadId) ?? Promise.resolve();
      const next = prev
        .catch(() => undefined)
        .then(async () => {
          const u = get(uploadId);
          if (u.finished) throw new OutpostError('conflict', `upload ${uploadId} is finished`);
          if (offset !== u.received)
            throw new OutpostError(
              'conflict',
              `upload ${uploadId}: a chunk at ${offset} where ${u.received} bytes were received`,
              { data: { received: u.received } },
            );
          if (u.received + data.length > u.size)
            throw new OutpostError(
              'invalid-input',
              `upload ${uploadId}: more bytes than the ${u.size} announced`,
            );
          const fh = await fsp.open(fileOf(uploadId), 'r+');
          try {
            await fh.write(data, 0, data.length, offset);
          } finally {
            await fh.close();
          }
          u.received += data.length;
          u.at = deps.clock.now();
          return u.received;
        });
      locks.set(uploadId, next);
      return next;
    },
    async finish(uploadId) {
      await locks.get(uploadId)?.catch(() => undefined);
      const u = get(uploadId);
      if (u.received !== u.size)
        throw new OutpostError(
          'conflict',
          `upload ${uploadId}: ${u.received} of ${u.size} bytes received; send the rest first`,
        );
      u.finished = true;
      return { uploadId, size: u.size };
    },
    file(uploadId) {
      const u = get(uploadId);
      if (!u.finished) throw new OutpostError('conflict', `upload ${uploadId} is not finished`);
      return fileOf(uploadId);
    },
    name(uploadId) {
      return get(uploadId).name;
    },
    async remove(uploadId) {
      uploads.delete(uploadId);
      locks.delete(uploadId);
      await fsp.rm(fileOf(uploadId), { force: true });
    },
    async prune(maxAgeMs) {
      const now = deps.clock.now();
      for (const [id, u] of uploads) if (now - u.at > maxAgeMs) await this.remove(id);
      // Files of uploads this process does not know (a restart) are old by definition.
      let names: string[];
      try {
        names = fs.readdirSync(deps.dir);
      } catch {
        return;
      }
      for (const n of names) {
        const id = n.replace(/\.tar$/, '');
        if (!uploads.has(id)) await fsp.rm(path.join(deps.dir, n), { force: true });
      }
    },
  };
}
