/**
 * Signed air-gap bundles (issue 13, ADR 0400-0403): minisign-compatible Ed25519 keys and signatures,
 * key rotation statements, and the bundle file (an OCI image layout in a tar, signed index first) with
 * a streaming writer and a streaming reader that verifies before it writes anything.
 */
export {
  generateKeyPair,
  publicKeyOf,
  fingerprint,
  publicKeyBase64,
  formatPublicKey,
  parsePublicKey,
  formatSecretKey,
  parseSecretKey,
  signMessage,
  formatSignature,
  parseSignature,
  verifySignature,
  verifyFileSignature,
  isKeyId,
  type PublicKey,
  type SecretKey,
  type MinisignSignature,
  type SignatureAlgorithm,
  type SignOptions,
} from './minisign.js';
export {
  keySigner,
  writeSecretKeyFile,
  readSecretKeyFile,
  writePublicKeyFile,
  readPublicKeyFile,
  type BundleSigner,
  type TrustedKey,
  type Trust,
} from './keys.js';
export {
  createRotation,
  parseRotation,
  verifyRotation,
  resolveSigner,
  type ParsedRotation,
  type ResolvedSigner,
} from './rotation.js';
export {
  BUNDLE_FORMAT,
  BUNDLE_VERSION,
  BUNDLE_REF_NAME,
  BundleMediaType,
  INDEX_ENTRY,
  SIGNATURE_ENTRY,
  bundleFileName,
  siteOf,
  validateIndex,
  type BundleIndex,
  type BundleBlob,
  type BundleKind,
  type GitRange,
  type KeyRotation,
} from './format.js';
export {
  writeBundle,
  type BlobInput,
  type BlobSource,
  type BundleHeader,
  type BundleProgress,
  type WriteBundleOptions,
  type WrittenBundle,
} from './write.js';
export {
  verifyBundle,
  stageBundle,
  peekBundle,
  type ReadBundleOptions,
  type StageBundleOptions,
  type BundleExpectations,
  type BundleStream,
  type BundleReport,
  type BundlePeek,
  type ReadProgress,
  type StagedBundle,
  type VerifiedSigner,
} from './read.js';
export { DEFAULT_LIMITS, type BundleLimits } from './limits.js';
export { BUNDLE_ERROR_STATUS, type BundleErrorCode } from './errors.js';
