import { OutpostError } from '../../lib/errors/index.js';
import type { BlobCache, CacheLease } from '../../lib/oci/index.js';
import { isImageArtifact } from '../runtimes/types.js';
import type { PlannedWorkload } from './state.js';

/**
 * The cache blobs one deployment task uses, pinned from before their lookup or download until the task
 * ends (installed, failed or cancelled), so neither the cache's limit nor another deployment's downloads
 * can evict them before the runtime has installed them (ADR 0342). The cache is opened on first use: a
 * deployment of container images only never touches it.
 */
export class DeploymentPins {
  private held: Promise<{ cache: BlobCache; lease: CacheLease }> | undefined;
  private lease: CacheLease | undefined;
  private released = false;

  constructor(
    private readonly openCache: () => Promise<BlobCache>,
    readonly owner: string,
  ) {}

  /** The cache and this task's lease on it. */
  hold(): Promise<{ cache: BlobCache; lease: CacheLease }> {
    if (this.released)
      return Promise.reject(new OutpostError('conflict', `the pins of ${this.owner} were released already`));
    this.held ??= this.openCache().then((cache) => {
      const lease = cache.lease(this.owner);
      this.lease = lease;
      // Released while the cache was being opened: give the lease back at once.
      if (this.released) lease.release();
      return { cache, lease };
    });
    return this.held;
  }

  /** Pins the file artifacts of a plan (before checking that they are still there). */
  async pinPlan(plan: PlannedWorkload[]): Promise<void> {
    const files = plan.flatMap((p) => (isImageArtifact(p.spec.artifact) ? [] : [p.spec.artifact.digest]));
    if (!files.length) return;
    const { lease } = await this.hold();
    for (const d of files) lease.pin(d);
  }

  /** Unpins everything; called once the task has ended, whatever the outcome. */
  release(): void {
    this.released = true;
    this.lease?.release();
  }
}

/** Bytes of the distinct cached blobs a plan needs at the same time. */
export function planCacheBytes(plan: PlannedWorkload[]): number {
  const sizes = new Map<string, number>();
  for (const p of plan) if (p.source) sizes.set(p.source.digest, p.source.size);
  return [...sizes.values()].reduce((n, s) => n + s, 0);
}
