/**
 * The tiers a server runs: the central orchestrator, a site's local orchestrator, or both. Its own file
 * (re-exported by config.ts) so that `edgectl server --help` lists them without loading the config schema.
 */
export const ROLES = ['co', 'lo', 'all'] as const;
export type Role = (typeof ROLES)[number];
