import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { presenceSchema } from './common.js';

/** The bus between CO, LOs and nodes: site links (store and forward) and node presence as the bus sees it. */

export const siteLinkSchema = z.object({
  siteId: z.string(),
  /**
   * From evidence (ADR 0165), never from nats-server's word alone. `local`: served by this server's own
   * NATS; `connected`: the leaf link carried a probe answer or data within the threshold; `disconnected`:
   * nats-server has no leaf for the site (and any evidence is recent, or there never was any);
   * `unreachable`: the newest evidence is older than the threshold (see `since`); `standalone`: an LO
   * without a hub; `unknown`: NATS is not running here, or a new leaf was not probed yet.
   */
  link: z.enum(['local', 'connected', 'disconnected', 'unreachable', 'standalone', 'unknown']),
  /**
   * When the link entered its current state (ms since epoch, this server's clock); for `unreachable`,
   * the moment of the newest evidence ("unreachable since"). Null before the first check.
   */
  since: z.number().nullable(),
  /**
   * Messages the site holds that the CO has not received yet (its outbox and the part of its upward
   * stream the CO does not hold), counted while the evidence is fresh; null when unknown: the link is
   * not known to work, so the site may be queueing (see lastContactSeconds). At an LO: its own
   * outgoing backlog.
   */
  backlog: z.number().int().nonnegative().nullable(),
  /** Seconds since the newest evidence that the link works (a probe answer or a delivery). */
  lastContactSeconds: z.number().nonnegative().nullable(),
  /** When the newest data from the site was sent (ms since epoch, the site's clock); null if none yet. */
  lastDataAt: z.number().nullable(),
  /** How old the newest data from the site is, in seconds. */
  dataAgeSeconds: z.number().nonnegative().nullable(),
  /** The evidence itself: ages in seconds (null: never), and the last probe's round trip. */
  evidence: z
    .object({
      probeAgeSeconds: z.number().nonnegative().nullable(),
      deliveryAgeSeconds: z.number().nonnegative().nullable(),
      roundTripMs: z.number().nonnegative().nullable(),
    })
    .optional(),
  /** Times the link watchdog re-created a stalled source or consumer (ADR 0166), and the last time. */
  repairs: z.number().int().nonnegative().optional(),
  lastRepairAt: z.number().nullable().optional(),
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
      thresholds: z.object({
        staleAfterSeconds: z.number(),
        offlineAfterSeconds: z.number(),
        /** Evidence older than this makes a link unreachable. */
        unreachableAfterSeconds: z.number().optional(),
      }),
      /** This server's role: at an LO the list has one row, its own link to the CO. */
      role: z.enum(['co', 'lo', 'all']).optional(),
      /** This server's clock when it answered (ages of `since` are on it). */
      now: z.number().optional(),
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
