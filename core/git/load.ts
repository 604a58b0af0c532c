import type IsoGit from 'isomorphic-git';

export type Git = typeof IsoGit;

let loading: Promise<Git> | undefined;

/**
 * isomorphic-git, loaded on first use: about 0.55 MB of code with pako and its diff library, which a
 * server start that touches no repository does not need to parse (ADR 0542).
 */
export function loadGit(): Promise<Git> {
  loading ??= import('isomorphic-git').then((m) => m.default);
  return loading;
}
