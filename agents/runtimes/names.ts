import { createHash } from 'node:crypto';
import { canonicalJson } from '../../lib/model/index.js';
import type { WorkloadSpec } from './types.js';

/** Labels the container and compose adapters put on what they create (and find it by). */
export const Label = {
  managed: 'outpost.managed',
  /** The agent instance (one host may run several agents, tests run many). */
  instance: 'outpost.instance',
  workload: 'outpost.workload',
  deployment: 'outpost.deployment',
  component: 'outpost.component',
  revision: 'outpost.revision',
  specHash: 'outpost.spec-hash',
  kind: 'outpost.kind',
} as const;

/** `workloadId` must be `${deploymentId}.${component}`-like: printable, no slashes, at most 256 chars. */
export const WORKLOAD_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;

/**
 * A stable name for runtime objects (container names, compose projects, helm releases, directories):
 * lowercase letters, digits and dashes, starting with a letter or digit, followed by 8 hex digits of the
 * workload id's SHA-256 so that two ids that sanitise alike never collide. At most `max` characters.
 */
export function safeName(workloadId: string, prefix = '', max = 63): string {
  const h = createHash('sha256').update(workloadId).digest('hex').slice(0, 8);
  const room = Math.max(1, max - prefix.length - h.length - 1);
  let s = workloadId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, room)
    .replace(/-+$/g, '');
  if (s === '') s = 'w';
  return `${prefix}${s}-${h}`;
}

/**
 * The spec hash the agent puts into {@link WorkloadSpec.specHash}: SHA-256 over the RFC 8785 canonical
 * JSON of everything that defines the workload (the spec without `specHash` and without the local
 * artifact path, which may move while the digest stays).
 */
export function computeSpecHash(spec: Omit<WorkloadSpec, 'specHash'> & { specHash?: string }): string {
  const { specHash: _ignored, artifact, ...rest } = spec;
  const art = 'path' in artifact ? { mediaType: artifact.mediaType, digest: artifact.digest } : artifact;
  return `sha256:${createHash('sha256')
    .update(canonicalJson({ ...rest, artifact: art }))
    .digest('hex')}`;
}
