import { OutpostError } from '../errors/index.js';

/**
 * Error codes of the bundle format layer, each with the HTTP status it maps to when it crosses the
 * console API. A refused bundle always raises exactly one of these, with a one-line message naming the
 * reason; the CLI prints that line and the console shows it next to the file.
 */
export const BUNDLE_ERROR_STATUS = {
  /** The index signature does not verify, or the signature file is not a minisign signature. */
  'bundle/bad-signature': 422,
  /** The signing key is neither trusted nor reached from a trusted key by a rotation statement. */
  'bundle/unknown-signer': 422,
  /** The signing key (or a key on its rotation path) was removed from the trusted keys. */
  'bundle/removed-signer': 422,
  /** The signing key is pinned for another site than the one the bundle speaks for. */
  'bundle/wrong-signer': 422,
  /** A rotation statement in the index does not verify. */
  'bundle/bad-rotation': 422,
  /** A blob's bytes do not hash to the digest the index lists (or a writer's expected digest). */
  'bundle/digest-mismatch': 422,
  /** A tar header declares another size than the index lists for that entry. */
  'bundle/size-mismatch': 422,
  /** The file ends before the archive does. */
  'bundle/truncated': 422,
  /** An entry the index does not list, a duplicate, a link, a device node, or anything but a plain file. */
  'bundle/unexpected-entry': 422,
  /** Every listed entry is there, but not in the order the index lists them. */
  'bundle/out-of-order': 422,
  /** An entry the index lists is not in the archive. */
  'bundle/missing-entry': 422,
  /** Damaged archive structure: a header checksum, non-zero padding, bytes after the end. */
  'bundle/corrupt': 422,
  /** The signed index is not a valid bundle index. */
  'bundle/invalid-index': 422,
  /** A bundle format version this reader does not know. */
  'bundle/unsupported-version': 422,
  'bundle/expired': 422,
  /** The bundle is for another site (or from another source than expected). */
  'bundle/wrong-site': 422,
  /** An HQ bundle where a status bundle was expected, or the other way round. */
  'bundle/wrong-kind': 422,
  /** The sequence number is not above the last one imported from that source. */
  'bundle/replay': 409,
  /** The index or the bundle is larger than the reader's limits. */
  'bundle/too-large': 413,
  /** The staging folder's file system has less free space than the bundle needs. */
  'bundle/no-space': 507,
  /** A key file or key text is not a minisign key we can use. */
  'bundle/invalid-key': 400,
  /** A secret key file is readable by other users. */
  'bundle/insecure-key-file': 400,
  /** Writing the bundle or a staged blob failed (a full drive, a pulled drive). */
  'bundle/write-failed': 507,
  /** A writer's blob source failed (missing file, stream error). */
  'bundle/source-failed': 400,
  'invalid-input': 400,
  'already-exists': 409,
  cancelled: 499,
} as const satisfies Record<string, number>;

export type BundleErrorCode = keyof typeof BUNDLE_ERROR_STATUS;

export function bundleError(
  code: BundleErrorCode,
  message: string,
  data?: unknown,
  cause?: unknown,
): OutpostError {
  return new OutpostError(code, message, { status: BUNDLE_ERROR_STATUS[code], data, cause });
}

export function cancelledError(what: string): OutpostError {
  return bundleError('cancelled', `${what}: cancelled`);
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw cancelledError(what);
}
