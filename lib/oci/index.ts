/** OCI artifacts: references, a Distribution client (pull, resume, push), a blob cache, push defaults. */
export {
  parseReference,
  formatReference,
  referenceTarget,
  isLoopbackHost,
  isRepositoryName,
  isTag,
  type Reference,
} from './reference.js';
export { parseDigest, digestOf, hashFile, isDigest, type DigestAlgorithm } from './digest.js';
export {
  createRegistryClient,
  type RegistryClient,
  type RegistryClientOptions,
  type RefLike,
} from './registry-client.js';
export type { Credentials, CredentialsProvider } from './auth.js';
export type { FetchLike } from './transport.js';
export type { Resolved, FetchedManifest, ResolveOptions } from './resolve.js';
export { currentPlatform, selectFromIndex } from './resolve.js';
export type { BlobProgress, FetchBlobOptions, FetchedBlob } from './fetch-blob.js';
export type { PushBlob, PushOptions, PushProgress, PushResult } from './push.js';
export { artifactKind, type ArtifactKind, type InspectResult, type LayerSummary } from './inspect.js';
export {
  createBlobCache,
  type BlobCache,
  type BlobCacheOptions,
  type CachedBlob,
  type CacheLease,
} from './blob-cache.js';
export { pullBlobToCache } from './pull-to-cache.js';
export {
  planPush,
  listTarGz,
  composeLayoutProblem,
  type PushPlan,
  type PushKind,
  type PlanOverrides,
  type TarEntry,
} from './artifact-defaults.js';
export {
  MediaType,
  Annotation,
  EMPTY_CONFIG,
  isIndex,
  type Descriptor,
  type ImageManifest,
  type ImageIndex,
  type AnyManifest,
  type Platform,
  type WasmConfig,
} from './media-types.js';
export { OCI_ERROR_STATUS, type OciErrorCode } from './errors.js';
