import crypto from 'node:crypto';
import { OutpostError } from '../errors/index.js';
import { maxDataLength } from './chunking.js';
import { Group, Op } from './header.js';
import { bytes, uint } from './os.js';
import { type TransferProgress, fsCommands } from './fs.js';
import type { SmpAnswer, SmpRequester } from './requester.js';

/** Image management group (1): firmware slots under MCUboot. */
export const ImgCommand = { state: 0, upload: 1, erase: 5 } as const;

export interface ImageSlot {
  image: number;
  slot: number;
  version: string;
  hash: string;
  bootable: boolean;
  pending: boolean;
  confirmed: boolean;
  active: boolean;
  permanent: boolean;
}

export interface ImgUploadResult {
  size: number;
  sha256: string;
  resumedFrom: number;
  /** The device's own check of the whole image against `sha` (CONFIG_IMG_ENABLE_IMAGE_CHECK), if it did one. */
  match: boolean | undefined;
  requests: number;
}

export interface ImgCommands {
  list(): Promise<ImageSlot[]>;
  upload(
    data: Uint8Array,
    options?: {
      image?: number;
      upgrade?: boolean;
      onProgress?: (p: TransferProgress) => void;
      signal?: AbortSignal;
    },
  ): Promise<ImgUploadResult>;
  /** Marks the image with this hash to run once after the next reset (MCUboot test swap). */
  test(hash: Uint8Array): Promise<ImageSlot[]>;
  /** Makes an image permanent: the running one without a hash, else the one with this hash. */
  confirm(hash?: Uint8Array): Promise<ImageSlot[]>;
  erase(slot?: number): Promise<void>;
}

export function imgCommands(c: SmpRequester): ImgCommands {
  const fs = fsCommands(c);
  const state = (a: SmpAnswer) => parseImages(a);
  return {
    async list() {
      return state(
        await c.request(Op.read, Group.image, ImgCommand.state, {}, { what: 'image list', retryable: true }),
      );
    },
    async test(hash) {
      return state(
        await c.request(
          Op.write,
          Group.image,
          ImgCommand.state,
          { hash, confirm: false },
          { what: 'image test', retryable: true },
        ),
      );
    },
    async confirm(hash) {
      return state(
        await c.request(
          Op.write,
          Group.image,
          ImgCommand.state,
          { hash, confirm: true },
          { what: 'image confirm', retryable: true },
        ),
      );
    },
    async erase(slot) {
      await c.request(
        Op.write,
        Group.image,
        ImgCommand.erase,
        { slot },
        { what: 'image erase', retryable: true, timeoutMs: 30_000 },
      );
    },
    async upload(data, options = {}) {
      const total = data.length;
      if (total < 32)
        throw new OutpostError('invalid-input', `an image of ${total} bytes cannot hold an MCUboot header`);
      const sha = crypto.createHash('sha256').update(data).digest();
      const bufSize = await fs.bufSize();
      const first = (chunk: Uint8Array) => ({
        image: options.image,
        len: total,
        off: 0,
        sha,
        data: chunk,
        upgrade: options.upgrade,
      });
      let off = 0;
      let resumedFrom = -1;
      let restarts = 0;
      let stalls = 0;
      let requests = 0;
      let match: boolean | undefined;
      options.onProgress?.({ done: 0, total });
      do {
        if (options.signal?.aborted)
          throw new OutpostError('cancelled', 'cancelled', { data: { offset: off } });
        const head = off === 0 ? first(new Uint8Array(0)) : { off, data: new Uint8Array(0) };
        const n = maxDataLength(bufSize, head, total - off);
        const chunk = data.subarray(off, off + n);
        requests++;
        const a = await c.request(
          Op.write,
          Group.image,
          ImgCommand.upload,
          off === 0 ? first(chunk) : { off, data: chunk },
          {
            what: `image upload at ${off}`,
            retryable: true,
            // The first chunk erases the slot: seconds on real flash.
            timeoutMs: off === 0 ? 30_000 : undefined,
            signal: options.signal,
          },
        );
        const next = uint(a.off, 'upload offset');
        if (typeof a.match === 'boolean') match = a.match;
        // The first answer tells where the device stands: a matching partial upload resumes there.
        if (resumedFrom < 0) resumedFrom = off === 0 && next > n ? next : 0;
        if (next > total)
          throw new OutpostError(
            'smp/bad-response',
            `the device reports offset ${next} past the end (${total})`,
          );
        // Offset 0 in the middle means the device lost the session (reset): start over.
        if (next === 0 && off > 0 && ++restarts > 2)
          throw new OutpostError('smp/bad-response', 'the device keeps losing the image upload session');
        stalls = next === off ? stalls + 1 : 0;
        if (stalls > 3)
          throw new OutpostError('smp/bad-response', `the image upload makes no progress at ${off}`);
        off = next;
        options.onProgress?.({ done: off, total });
      } while (off < total);
      if (match === false)
        throw new OutpostError(
          'smp/hash-mismatch',
          'the device reports that the uploaded image does not match its SHA-256',
        );
      return {
        size: total,
        sha256: sha.toString('hex'),
        resumedFrom: Math.max(0, resumedFrom),
        match,
        requests,
      };
    },
  };
}

function parseImages(a: SmpAnswer): ImageSlot[] {
  if (!Array.isArray(a.images))
    throw new OutpostError('smp/bad-response', "the device's image list has no images");
  return a.images.map((raw: unknown) => {
    const i = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
    return {
      image: typeof i.image === 'number' ? i.image : 0,
      slot: uint(i.slot, 'slot'),
      version: typeof i.version === 'string' ? i.version : '',
      hash: Buffer.from(bytes(i.hash, 'image hash')).toString('hex'),
      bootable: i.bootable === true,
      pending: i.pending === true,
      confirmed: i.confirmed === true,
      active: i.active === true,
      permanent: i.permanent === true,
    };
  });
}
