import { z } from 'zod';
import { bundleJobSchema } from './services/bundle.js';

/**
 * Events the core pushes to consoles. `changed` tells a console which data went stale so it can
 * refetch (topics such as `apps`, `nodes`, `deployments`, `system`); richer events carry data.
 */
export const events = {
  changed: z.object({ topics: z.array(z.string()).min(1) }),
  /** A long job's progress and end (bundle export, verify, import): a few times a second while it runs. */
  job: bundleJobSchema,
  /** An enrollment request was filed, decided, expired or picked up (ADR 0462); the console refetches `enroll-requests`. */
  enrollRequest: z.object({
    id: z.string(),
    state: z.enum(['pending', 'approved', 'rejected', 'expired']),
  }),
};
export type Events = typeof events;
