import type { BlobCache, CacheLease } from './blob-cache.js';
import type { BlobProgress } from './fetch-blob.js';
import type { Descriptor } from './media-types.js';
import type { RefLike, RegistryClient } from './registry-client.js';

/**
 * Makes sure a blob is in the cache and returns its path: a hit costs no request; a miss downloads to the
 * cache's staging area (resumable, verified) and moves the file in. The blob is pinned while it downloads,
 * so eviction cannot take it. To keep it past the return, pass a `lease` (it then pins the blob before the
 * lookup, so nothing can evict it between the hit and your use) and release the lease when done.
 */
export async function pullBlobToCache(
  client: Pick<RegistryClient, 'fetchBlob'>,
  cache: BlobCache,
  ref: RefLike,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  options: {
    signal?: AbortSignal;
    onProgress?: (p: BlobProgress) => void;
    verifyHit?: boolean;
    lease?: CacheLease;
  } = {},
): Promise<string> {
  options.lease?.pin(descriptor.digest);
  const hit = await cache.get(descriptor.digest, { verify: options.verifyHit });
  if (hit) return hit;
  cache.pin(descriptor.digest);
  try {
    const staged = await client.fetchBlob(ref, descriptor, {
      dest: cache.stagingPath(descriptor.digest),
      signal: options.signal,
      onProgress: options.onProgress,
    });
    return await cache.put(descriptor.digest, staged.path, { verified: true });
  } finally {
    cache.unpin(descriptor.digest);
  }
}
