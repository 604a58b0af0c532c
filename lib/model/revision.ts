import semver from 'semver';
import { OutpostError } from '../errors/index.js';
import { REVISION } from './patterns.js';

/**
 * Component revisions and package versions are SemVer 2.0 written as OCI tags: no leading `v`, build
 * metadata after `_` instead of `+` (README section 1.1).
 */

/** `1.2.3_build.5` → `1.2.3+build.5`; throws `invalid-input` for anything that is not such a revision. */
export function revisionToSemver(revision: string): string {
  if (typeof revision !== 'string' || !REVISION.test(revision)) {
    throw new OutpostError(
      'invalid-input',
      `${JSON.stringify(revision)} is not a SemVer 2.0 revision (e.g. 1.2.3, 1.2.3-rc.1, 1.2.3_build.5)`,
    );
  }
  return revision.replace('_', '+');
}

/** `1.2.3+build.5` → `1.2.3_build.5` (the OCI tag form). */
export function semverToRevision(version: string): string {
  return version.replace('+', '_');
}

/** SemVer precedence of two revisions: negative, 0 or positive. Build metadata does not count. */
export function compareRevisions(a: string, b: string): number {
  return semver.compare(revisionToSemver(a), revisionToSemver(b));
}

export function isRevision(s: unknown): s is string {
  return typeof s === 'string' && REVISION.test(s);
}
