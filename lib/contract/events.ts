import { z } from 'zod';
import { bundleJobSchema } from './services/bundle.js';

/**
 * The topics of `changed` events: each names data a console shows, and the core announces it whenever
 * that data changes. A console keys every query by the topic of the data it reads (`['nodes', 'list']`)
 * and refetches the queries under a topic when it is announced. Declared only here: the core's event hub
 * and the console's query keys take a `Topic`, so a misspelt one fails the typecheck
 * (core/event-topics.test.ts checks that both sides use them all).
 *
 * - `apps`: the application catalog (apps and their versions);
 * - `device-models`: the Device Store, including how many nodes use each model;
 * - `sites`: sites, their remote orchestrators and node counts;
 * - `nodes`: nodes, their labels, cordons, capabilities and presence;
 * - `deployments`: deployments, their rollouts and per-node states;
 * - `system`: the server's own status (NATS, the desired state an LO serves);
 * - `enroll-requests`: nodes waiting for approval and the decisions on them (ADR 0462);
 * - `discovery`: what an LO advertises and finds on its network (ADR 0460);
 * - `bundles`: air-gap bundle keys, trust, and the last bundle each way per site (ADR 0404);
 * - `drives`: the removable drives mounted on the server and the bundles on them (ADR 0408);
 * - `metrics`: the stored time series of fleet health (a sample was taken; ADR 0228);
 * - `audit`: the audit log (an entry was written; ADR 0232).
 *
 * A bundle job's progress is not a topic: it travels with its data in `job` events.
 */
export const TOPICS = [
  'apps',
  'device-models',
  'sites',
  'nodes',
  'deployments',
  'system',
  'enroll-requests',
  'discovery',
  'bundles',
  'drives',
  'metrics',
  'audit',
] as const;
export type Topic = (typeof TOPICS)[number];
export const topicSchema = z.enum(TOPICS);

export function isTopic(v: unknown): v is Topic {
  return (TOPICS as readonly unknown[]).includes(v);
}

/**
 * Events the core pushes to consoles. `changed` tells a console which data went stale so it can
 * refetch; richer events carry data.
 */
export const events = {
  changed: z.object({ topics: z.array(topicSchema).min(1) }),
  /** A long job's progress and end (bundle export, verify, import): a few times a second while it runs. */
  job: bundleJobSchema,
  /** An enrollment request was filed, decided, expired or picked up (ADR 0462); the console refetches `enroll-requests`. */
  enrollRequest: z.object({
    id: z.string(),
    state: z.enum(['pending', 'approved', 'rejected', 'expired']),
  }),
};
export type Events = typeof events;
/** What a `changed` event carries. */
export type ChangedEvent = z.output<Events['changed']>;
