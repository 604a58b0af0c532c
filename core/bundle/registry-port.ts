import type { Readable } from 'node:stream';

/**
 * What bundles need of the site registry's store (core/registry, ADR 0420): reading blobs and manifests
 * (HQ exports from its own site registry when it runs one) and the import API (a verified blob file
 * renamed into place, manifests and tags committed as one journaled step). The registry's own store
 * implements it; the bundle module takes it as an argument.
 */
export interface BundleRegistry {
  statBlob(digest: string): Promise<{ digest: string; size: number } | undefined>;
  openBlob(
    digest: string,
  ): Promise<
    | { size: number; stream(range?: { start: number; end: number }): Readable; close(): Promise<void> }
    | undefined
  >;
  getManifest(
    repository: string,
    reference: string,
  ): Promise<{ digest: string; mediaType: string; size: number; bytes: Buffer } | undefined>;
  adoptBlobFile(
    file: string,
    expect: { digest: string; size?: number; verified?: boolean },
  ): Promise<{ digest: string; size: number; existed: boolean }>;
  commitManifests(
    items: { repository: string; bytes: Uint8Array; mediaType?: string; tags?: string[] }[],
  ): Promise<unknown>;
  /** Repositories holding at least one manifest. */
  repositories(): Promise<string[]>;
  listTags(repository: string): Promise<string[] | undefined>;
  usage(): { usedBytes: number; quotaBytes: number | null; freeBytes: number };
}

/** The site registry as the bundle module sees it: the store when this server runs one, and its collector. */
export interface BundleRegistryAccess {
  store(): BundleRegistry | undefined;
  /** Garbage collection after an import (best effort). */
  gc?(): Promise<unknown>;
}
