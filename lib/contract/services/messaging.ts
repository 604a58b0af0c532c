import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { presenceSchema } from './common.js';

/** The bus between CO, LOs and nodes: site links (store and forward) and node presence as the bus sees it. */

export const siteLinkSchema = z.object({
  siteId: z.string(),
  /**
   * `local`: served by this server's own NATS; `connected`/`disconnected`: the site's LO leaf link;
   * `standalone`: an LO without a hub; `unknown`: NATS is not running here.
   */
  link: z.enum(['local', 'connected', 'disconnected', 'standalone', 'unknown']),
  /** When this server saw the link enter its current state (ms since epoch); null before the first check. */
  since: z.number().nullable(),
  /**
   * Messages the site holds that the CO has not received yet (stream source lag) while the link is up;
   * null when unknown: the link is down (the site may be queueing; see lastContactSeconds) or never came up.
   */
  backlog: z.number().int().nonnegative().nullable(),
  /** Seconds since the CO last heard from the site's stream. */
  lastContactSeconds: z.number().nonnegative().nullable(),
  /** When the newest data from the site was sent (ms since epoch, the site's clock); null if none yet. */
  lastDataAt: z.number().nullable(),
  /** How old the newest data from the site is, in seconds. */
  dataAgeSeconds: z.number().nonnegative().nullable(),
});
export type SiteLink = z.infer<typeof siteLinkSchema>;

export const busPresenceSchema = z.object({
  siteId: z.string(),
  nodeUid: z.string(),
  presence: presenceSchema,
  lastSeenAt: z.number().nullable(),
  ageSeconds: z.number().nonnegative().nullable(),
});
export type BusPresence = z.infer<typeof busPresenceSchema>;

export const messagingService = defineService('messaging', {
  siteLinks: query({
    summary:
      "Each site's link to this server (state and since when), its backlog and the age of its newest data.",
    input: z.object({}).strict().default({}),
    output: z.object({
      links: z.array(siteLinkSchema),
      thresholds: z.object({ staleAfterSeconds: z.number(), offlineAfterSeconds: z.number() }),
    }),
    adminOnly: true,
  }),
  linkSite: command({
    summary:
      'Leaf credentials for the remote LO of a site (CO): the nats.hubLeafUrl its config.yaml needs. Rotating revokes the old ones.',
    input: z.object({ siteId: z.string().min(1), rotate: z.boolean().default(false) }).strict(),
    output: z.object({
      siteId: z.string(),
      user: z.string(),
      hubLeafUrl: z.string().nullable(),
      /** The CA the LO verifies the hub's leaf port with (nats.hubCaFile), when the hub speaks TLS. */
      hubCaPem: z.string().nullable(),
    }),
    adminOnly: true,
    redact: [],
    auditTarget: (i) => `site/${i.siteId}`,
    secretResult: true,
  }),
  presence: query({
    summary:
      'Heartbeat presence of the nodes of a site as the bus sees it (online, stale, offline, unknown, with ages).',
    input: z.object({ siteId: z.string().min(1) }).strict(),
    output: z.object({
      entries: z.array(busPresenceSchema),
      thresholds: z.object({ staleAfterSeconds: z.number(), offlineAfterSeconds: z.number() }),
    }),
    adminOnly: true,
  }),
});
