import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamSource,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import {
  AGGREGATE_UP_STREAM,
  HUB_DOMAIN,
  LOCAL_DOWN_STREAM,
  deliverPrefix,
  desiredSubject,
  downStreamName,
  siteDomain,
  upStreamName,
  upStreamSubjects,
} from '../../lib/bus/index.js';

/**
 * The JetStream layout (ADR 0163):
 *  - LO (site domain `site-<id>`): `OUTPOST_UP_<site>` captures the site's node status and events and
 *    the LO's own reports; `OUTPOST_DOWN` sources the hub's `OUTPOST_DOWN_<site>`.
 *  - CO (domain `co`): `OUTPOST_UP` sources every site's `OUTPOST_UP_<site>` through the leaf link
 *    (`external.api = $JS.site-<id>.API`), `OUTPOST_DOWN_<site>` captures `outpost.desired.<site>`.
 * Sources keep their position across disconnects and hub restarts, so a site that was cut off
 * delivers its backlog in order once the link is back.
 */

const DAY_NS = nanos(24 * 3600 * 1000);

export interface StreamLimits {
  maxAgeDays: number;
  maxBytes: number;
}

export const DEFAULT_UP_LIMITS: StreamLimits = { maxAgeDays: 30, maxBytes: 1024 ** 3 };

function base(name: string, limits: StreamLimits): Partial<StreamConfig> {
  return {
    name,
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    max_age: limits.maxAgeDays * DAY_NS,
    max_bytes: limits.maxBytes,
    duplicate_window: nanos(120_000),
    num_replicas: 1,
  };
}

async function ensure(jsm: JetStreamManager, cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
  let existing: StreamConfig | undefined;
  try {
    existing = (await jsm.streams.info(cfg.name)).config;
  } catch (err) {
    if (!/stream not found/i.test((err as Error).message)) throw err;
  }
  if (!existing) {
    await jsm.streams.add(cfg);
    return;
  }
  const want = JSON.stringify({
    subjects: cfg.subjects ?? [],
    sources: cfg.sources ?? [],
    duplicateWindow: cfg.duplicate_window ?? null,
  });
  const have = JSON.stringify({
    subjects: existing.subjects ?? [],
    sources: normaliseSources(existing.sources),
    duplicateWindow: cfg.duplicate_window === undefined ? null : (existing.duplicate_window ?? null),
  });
  if (want !== have) await jsm.streams.update(cfg.name, { ...existing, ...cfg } as StreamConfig);
}

function normaliseSources(sources: StreamSource[] | undefined): StreamSource[] {
  return (sources ?? []).map((s) => ({
    name: s.name,
    ...(s.external ? { external: { api: s.external.api, deliver: s.external.deliver } } : {}),
  }));
}

/** The LO's upward stream (in the LO's own domain). */
export async function ensureSiteUpStream(
  jsm: JetStreamManager,
  siteId: string,
  limits: StreamLimits = DEFAULT_UP_LIMITS,
): Promise<void> {
  await ensure(jsm, {
    ...base(upStreamName(siteId), limits),
    name: upStreamName(siteId),
    subjects: upStreamSubjects(siteId),
  });
}

/** The LO's copy of its desired-state notices, sourced from the hub (role lo with a hub only). */
export async function ensureSiteDownStream(jsm: JetStreamManager, siteId: string): Promise<void> {
  await ensure(jsm, {
    ...base(LOCAL_DOWN_STREAM, DEFAULT_UP_LIMITS),
    name: LOCAL_DOWN_STREAM,
    sources: [
      {
        name: downStreamName(siteId),
        external: { api: `$JS.${HUB_DOMAIN}.API`, deliver: deliverPrefix(siteId, 'down') },
      },
    ],
  });
}

export interface HubSite {
  siteId: string;
  /** The site served by the hub's own server (role all): sourced without the leaf link. */
  local: boolean;
}

export function aggregateSources(sites: HubSite[]): StreamSource[] {
  return [...sites]
    .sort((a, b) => a.siteId.localeCompare(b.siteId))
    .map((s) =>
      s.local
        ? { name: upStreamName(s.siteId) }
        : {
            name: upStreamName(s.siteId),
            external: { api: `$JS.${siteDomain(s.siteId)}.API`, deliver: deliverPrefix(s.siteId, 'up') },
          },
    );
}

/** The hub's streams: one desired-notice stream per site and the aggregate of every site's upward stream. */
export async function ensureHubStreams(
  jsm: JetStreamManager,
  sites: HubSite[],
  limits: StreamLimits = { maxAgeDays: 30, maxBytes: 4 * 1024 ** 3 },
): Promise<void> {
  for (const s of sites) {
    await ensure(jsm, {
      ...base(downStreamName(s.siteId), DEFAULT_UP_LIMITS),
      name: downStreamName(s.siteId),
      subjects: [desiredSubject(s.siteId)],
    });
  }
  const sources = aggregateSources(sites);
  if (sources.length === 0) return;
  await ensure(jsm, {
    ...base(AGGREGATE_UP_STREAM, limits),
    name: AGGREGATE_UP_STREAM,
    sources,
    duplicate_window: nanos(AGGREGATE_DUPLICATE_WINDOW_MS),
  });
}

/**
 * The aggregate's duplicate window (ADR 0502). Nothing publishes into the aggregate: it only copies the
 * sites' streams, which drop a retried publish themselves, and its reader drops a node message at or below
 * the last one applied (ADR 0163). A copied message the aggregate refuses as a duplicate makes nats-server
 * 2.9 retry it and copy nothing after it until the window is over: so the window is short.
 */
export const AGGREGATE_DUPLICATE_WINDOW_MS = 1_000;

/** A source JetStream has not heard from for this long (and the stall period) is broken (ADR 0502). */
export const SOURCE_SILENT_MS = 10_000;

/**
 * What JetStream says of one source of a stream (the link watchdog asks before it repairs, ADR 0502):
 * - `missing`: the stream has no such source;
 * - `misconfigured`: the source is there, but not as `want` (another API prefix or delivery prefix);
 * - `failing`: JetStream reports an error for it, never heard from the origin (`active` -1), or has not
 *   heard from it for longer than `silentAfterMs`;
 * - `in-touch`: JetStream heard from the origin within `silentAfterMs` (messages or the source
 *   consumer's heartbeats). Its `lag` is what JetStream believes is left to copy; nats-server 2.9 says 0
 *   also while it retries a message the stream drops as a duplicate.
 */
export type SourceCheck =
  | { kind: 'missing' }
  | { kind: 'misconfigured' }
  | { kind: 'failing'; reason: string }
  | { kind: 'in-touch'; lag: number; activeMs: number; duplicateWindowMs: number };

export async function checkSource(
  jsm: JetStreamManager,
  stream: string,
  want: StreamSource,
  silentAfterMs: number,
): Promise<SourceCheck> {
  const info = await jsm.streams.info(stream);
  const configured = (info.config.sources ?? []).find((x) => x.name === want.name);
  if (!configured) return { kind: 'missing' };
  if (JSON.stringify(normaliseSources([configured])) !== JSON.stringify(normaliseSources([want])))
    return { kind: 'misconfigured' };
  const si = (info.sources ?? []).find((x) => x.name === want.name);
  if (!si) return { kind: 'failing', reason: 'JetStream reports nothing for the source' };
  if (si.error) return { kind: 'failing', reason: `JetStream reports: ${si.error.description}` };
  if (si.active < 0) return { kind: 'failing', reason: 'JetStream never heard from the origin' };
  const activeMs = si.active / 1e6;
  if (activeMs > silentAfterMs)
    return {
      kind: 'failing',
      reason: `JetStream has not heard from the origin for ${Math.round(activeMs)} ms`,
    };
  return {
    kind: 'in-touch',
    lag: si.lag,
    activeMs,
    duplicateWindowMs: (info.config.duplicate_window ?? 0) / 1e6,
  };
}

/**
 * Re-creates one source of a stream (the link watchdog, ADR 0166): the stream is updated without it,
 * then with it again. nats-server sets a re-added source up afresh and resumes it after the last
 * message the stream holds from that origin, so nothing is fetched twice and nothing is skipped.
 */
export async function recreateSource(
  jsm: JetStreamManager,
  stream: string,
  sourceName: string,
): Promise<boolean> {
  const cfg = (await jsm.streams.info(stream)).config;
  const sources = cfg.sources ?? [];
  if (!sources.some((s) => s.name === sourceName)) return false;
  await jsm.streams.update(stream, { ...cfg, sources: sources.filter((s) => s.name !== sourceName) });
  await jsm.streams.update(stream, { ...cfg, sources });
  return true;
}
