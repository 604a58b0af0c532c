import type { Topic } from '../lib/contract/index.js';

/**
 * Data the server announces no `changed` event for: its queries are fetched when their page opens and
 * when asked again. (The audit log is announced, `audit`: only an open audit page refetches, and
 * live.ts coalesces the announcements.) A bundle job's progress comes with its data in `job` events, which live.ts writes
 * into its query (`['bundle-jobs', id]`). `session` (who is signed in and what they may do) is asked
 * again when the event stream ends: revoking a token ends its streams.
 */
export const UNANNOUNCED = ['bundle-jobs', 'session'] as const;
export type Unannounced = (typeof UNANNOUNCED)[number];

/**
 * The first element of every query key: the topic of the data the query reads (lib/contract/events.ts),
 * so that a `changed` event for it refetches the query (live.ts), or a scope the server never announces.
 */
export type QueryScope = Topic | Unannounced;

/** A query key of the console: `['nodes', 'list', ...]`, `['deployments', 'get', id]`. */
export type ConsoleQueryKey = readonly [QueryScope, ...unknown[]];
