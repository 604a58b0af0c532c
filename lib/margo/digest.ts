import { createHash } from 'node:crypto';

/** The Margo content digest of some bytes: `sha256:<64 lowercase hex>` (the grammar is lib/model's DIGEST). */
export function sha256Digest(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
