/**
 * Bounds a reader enforces before it reads what they bound, and a writer respects so it never makes a
 * bundle the other side refuses. The index lists every entry, so these also bound the entry count.
 */
export interface BundleLimits {
  /** The signed index is read into memory before it is verified. */
  maxIndexBytes: number;
  /** The signature file (minisign's comment limits plus the two key lines). */
  maxSignatureBytes: number;
  /** Blobs one bundle may list. */
  maxBlobs: number;
  /** The sum of the blob sizes; also checked against the staging file system's free space. */
  maxBytes: number;
  /** Zero bytes a copy tool may have appended after the end-of-archive blocks. */
  maxTrailingZeroBytes: number;
}

export const DEFAULT_LIMITS: BundleLimits = {
  maxIndexBytes: 16 * 1024 * 1024,
  maxSignatureBytes: 12 * 1024,
  maxBlobs: 50_000,
  maxBytes: Number.MAX_SAFE_INTEGER,
  maxTrailingZeroBytes: 1024 * 1024,
};

export function limitsOf(overrides: Partial<BundleLimits> | undefined): BundleLimits {
  return { ...DEFAULT_LIMITS, ...(overrides ?? {}) };
}
