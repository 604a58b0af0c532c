import type { CoreModule } from '../module.js';
import type { Config } from '../config.js';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { EventHub } from '../events.js';
import type { AttentionSeverity, NatsState, SiteLink } from '../../lib/contract/index.js';
import type { Presence, PresenceThresholds } from '../../lib/model/index.js';
import { collectAttention } from './attention.js';
import {
  COARSE_STEP_MS,
  FINE_STEP_MS,
  createSeriesStore,
  presenceSince,
  takeSample,
  type SeriesName,
} from './series.js';

export interface HealthModuleDeps {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  events: EventHub;
  thresholds(): PresenceThresholds;
  liveSeen?: (siteId: string, uid: string) => number | null;
  /** The links to the sites (empty when the bus does not run). */
  siteLinks(): Promise<SiteLink[]>;
  natsState(): NatsState | null;
  /** When this server's site CA runs out (ms since epoch), null without one. */
  siteCaNotAfter?: () => number | null;
}

export interface Health {
  /** Takes one sample of every tenant now (the timer calls it; tests call it after moving the clock). */
  sample(): Promise<void>;
}

/**
 * Fleet health (ADR 0227, 0228): what needs attention, computed when asked; and a compact time series
 * sampled on a timer into SQLite with two resolutions and a retention, plus each node's presence changes.
 */
export function createHealthModule(deps: HealthModuleDeps): CoreModule & { health: Health } {
  const { store, clock, config, logger } = deps;
  const sqlite = store.sqlite;
  const seriesStore = createSeriesStore(sqlite);
  const log = logger.child({ component: 'health' });
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  /** Each node's newest presence in the history (loaded at the first sample). */
  let lastPresence: Map<string, Presence> | undefined;
  const insertPresence = sqlite.prepare(
    'INSERT INTO node_presence_history (node_uid, tenant_id, presence, at) VALUES (?, ?, ?, ?)',
  );
  const prunePresence = sqlite.prepare(
    `DELETE FROM node_presence_history WHERE at < ?
       AND seq NOT IN (SELECT max(seq) FROM node_presence_history GROUP BY node_uid)`,
  );

  const links = async (): Promise<SiteLink[]> => {
    try {
      return await deps.siteLinks();
    } catch {
      return [];
    }
  };

  const sampleOnce = async () => {
    const now = clock.now();
    const siteLinks = await links();
    const t = deps.thresholds();
    if (!lastPresence) {
      lastPresence = new Map(
        (
          sqlite
            .prepare(
              `SELECT node_uid AS uid, presence FROM node_presence_history
               WHERE seq IN (SELECT max(seq) FROM node_presence_history GROUP BY node_uid)`,
            )
            .all() as { uid: string; presence: Presence }[]
        ).map((r) => [r.uid, r.presence]),
      );
    }
    const tenants = (sqlite.prepare('SELECT id FROM tenants ORDER BY id').all() as { id: string }[]).map(
      (r) => r.id,
    );
    for (const tenantId of tenants) {
      const s = takeSample({ sqlite, tenantId, now, thresholds: t, liveSeen: deps.liveSeen, siteLinks });
      seriesStore.write(tenantId, now, s.series);
      let changedNodes = false;
      store.tx(() => {
        for (const n of s.presence) {
          if (lastPresence!.get(n.uid) === n.presence) continue;
          // A node never heard from starts its history at its first sighting, not as "unknown".
          if (n.presence === 'unknown' && !lastPresence!.has(n.uid)) continue;
          insertPresence.run(n.uid, tenantId, n.presence, presenceSince(n.presence, n.lastSeenAt, now, t));
          lastPresence!.set(n.uid, n.presence);
          changedNodes = true;
        }
      });
      if (changedNodes) deps.events.changed(tenantId, 'metrics', 'nodes');
      else deps.events.changed(tenantId, 'metrics');
    }
    const h = config.health;
    seriesStore.prune(now, {
      fineMs: h.fineRetentionHours * 3_600_000,
      coarseMs: h.coarseRetentionDays * 86_400_000,
    });
    prunePresence.run(now - h.coarseRetentionDays * 86_400_000);
  };

  const sample = (): Promise<void> => {
    // One sample at a time: a slow one is waited for, never run twice at once.
    running ??= sampleOnce().finally(() => (running = undefined));
    return running;
  };

  return {
    name: 'health',
    health: { sample },
    async start() {
      // The first sample waits for `ready` (once the API listens): nothing the API answers needs it, and
      // its /leafz request and queries took 30-60 ms of the start.
      timer = setInterval(
        () => void sample().catch((err: unknown) => log.warn({ err }, 'health sample failed')),
        config.health.sampleEverySeconds * 1000,
      );
      timer.unref();
    },
    ready() {
      void sample().catch((err: unknown) => log.warn({ err }, 'health sample failed'));
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    handlers: {
      health: {
        async attention(input, ctx) {
          const now = clock.now();
          const all = collectAttention({
            sqlite,
            tenantId: ctx.tenantId,
            now,
            thresholds: deps.thresholds(),
            liveSeen: deps.liveSeen,
            siteLinks: await links(),
            nats: deps.natsState(),
            siteCaNotAfter: deps.siteCaNotAfter?.() ?? null,
          });
          const bySeverity: Record<AttentionSeverity, number> = { critical: 0, warning: 0, info: 0 };
          for (const i of all) bySeverity[i.severity] += 1;
          return {
            items: all.slice(0, input.limit),
            more: Math.max(0, all.length - input.limit),
            bySeverity,
            now,
          };
        },
        async series(input, ctx) {
          const now = clock.now();
          const fine = input.hours <= config.health.fineRetentionHours;
          const step = fine ? FINE_STEP_MS : COARSE_STEP_MS;
          return {
            series: input.series,
            step,
            subjects: seriesStore.read(
              ctx.tenantId,
              input.series as SeriesName,
              now - input.hours * 3_600_000,
              step,
            ),
            sampleEveryMs: config.health.sampleEverySeconds * 1000,
            now,
          };
        },
      },
    },
  };
}
