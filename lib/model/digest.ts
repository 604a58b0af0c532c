import { OutpostError } from '../errors/index.js';

/** Content digests of the Margo artefacts (README section 1.3): `sha256:<64 lowercase hex>` only. */

export const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface ParsedDigest {
  algorithm: 'sha256';
  hex: string;
  /** The digest string itself (`sha256:<hex>`). */
  digest: string;
}

/** Checks the digest grammar; any other algorithm or form is refused (`margo/invalid-digest`, 400). */
export function parseDigest(s: string): ParsedDigest {
  if (typeof s === 'string' && DIGEST.test(s)) return { algorithm: 'sha256', hex: s.slice(7), digest: s };
  const text = typeof s === 'string' ? s : String(s);
  const algo = /^([A-Za-z0-9+._-]+):/.exec(text)?.[1];
  const why =
    algo && algo !== 'sha256'
      ? `unsupported digest algorithm "${algo}" (only sha256)`
      : 'expected sha256: followed by 64 lowercase hex digits';
  throw new OutpostError(
    'margo/invalid-digest',
    `invalid digest ${JSON.stringify(text.slice(0, 100))}: ${why}`,
    {
      status: 400,
    },
  );
}

export function isDigest(s: unknown): s is string {
  return typeof s === 'string' && DIGEST.test(s);
}
