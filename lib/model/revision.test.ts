import { describe, expect, it } from 'vitest';
import { compareRevisions, isRevision, revisionToSemver, semverToRevision } from './index.js';
import { thrown } from '../margo/test-helpers.js';

describe('revisions', () => {
  it.each<[string, string, number]>([
    ['1.0.0', '1.0.1', -1],
    ['1.10.0', '1.9.9', 1],
    ['1.0.0-rc.1', '1.0.0', -1],
    ['1.0.0-alpha', '1.0.0-alpha.1', -1],
    ['1.0.0-rc.2', '1.0.0-rc.10', -1],
    ['2.1.0_build.42', '2.1.0_build.7', 0],
    ['2.1.0_build.42', '2.1.0', 0],
    ['2.1.0-rc.1_b5', '2.1.0', -1],
  ])('compare(%s, %s) = %d', (a, b, want) => {
    expect(Math.sign(compareRevisions(a, b))).toBe(want);
    expect(Math.sign(compareRevisions(b, a))).toBe(-want || 0);
  });

  it('converts build metadata between the tag and SemVer forms', () => {
    expect(revisionToSemver('1.2.3_build.5')).toBe('1.2.3+build.5');
    expect(semverToRevision('1.2.3+build.5')).toBe('1.2.3_build.5');
  });

  it.each(['v1.0.0', '1.0', '1.0.0+b', '01.0.0', '1.0.0-', 'latest'])('refuses %s', (r) => {
    expect(isRevision(r)).toBe(false);
    const err = thrown(() => compareRevisions(r, '1.0.0'));
    expect(err.code).toBe('invalid-input');
    expect(err.message).toContain('is not a SemVer 2.0 revision');
  });
});
