import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { linkPingSubject, linkPongSubject } from '../../lib/bus/index.js';
import type { LinkTiming } from './link-health.js';
import { SOURCE_SILENT_MS, type SourceCheck } from './streams.js';

/**
 * The evidence behind a site link (ADR 0165) and the watchdog that repairs a stalled one (ADR 0166).
 *
 * CO side (`createHubLinks`): every `pingEveryMs` the CO publishes a probe to each linked site over the
 * leaf link (`outpost.link.<site>.ping`, core NATS, never stored) telling the site how far its upward
 * stream has arrived; the LO answers (`outpost.site.<site>.link.pong`) with its stream's last sequence
 * and its outbox. Every message the CO reads from a site's stream counts as a delivery. From these the CO
 * knows whether the link works, the site's backlog, and whether the site's data stopped advancing while
 * the link answers: then the watchdog re-creates the source (or restarts the reader) at once, instead of
 * waiting for nats-server to notice.
 *
 * LO side (`createSiteLinkResponder`): answers the probes and keeps what they say (persisted), so the LO
 * can show its own link to the CO and its outgoing backlog, also after a restart.
 */

export interface LinkPing {
  id: string;
  /** The CO's clock. */
  at: number;
  /** The highest sequence of the site's upward stream the CO holds (null: nothing yet). */
  received: number | null;
}

export interface LinkPong {
  id: string;
  /** The LO's clock. */
  at: number;
  /** The last sequence of the LO's upward stream (null: unknown). */
  upLastSeq: number | null;
  /** Reports in the LO's own outbox not yet in its stream (null: none kept there). */
  outbox: number | null;
}

interface Persisted<T> {
  load(): T;
  save(v: T): void;
}

function jsonFile<T>(file: string, empty: () => T, log: Logger): Persisted<T> {
  return {
    load() {
      try {
        return { ...empty(), ...(JSON.parse(fs.readFileSync(file, 'utf8')) as T) };
      } catch {
        return empty();
      }
    },
    save(v) {
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(v), { mode: 0o600 });
        fs.renameSync(tmp, file);
      } catch (err) {
        log.warn({ err, file }, 'cannot save the link state');
      }
    },
  };
}

// ---------------------------------------------------------------- CO side

export interface HubSiteEvidence {
  /** The newest probe answer (CO clock) and the probe's round trip. */
  pongAt: number | null;
  rttMs: number | null;
  pong: LinkPong | null;
  /** The newest message read from the site's stream (CO clock). */
  deliveryAt: number | null;
  /** The highest origin sequence of the site's stream read here, and when it last grew (CO clock). */
  receivedSeq: number | null;
  receivedAt: number | null;
  repairs: number;
  lastRepairAt: number | null;
}

export interface HubLinksOptions {
  nc: NatsConnection;
  clock: Clock;
  logger: Logger;
  timing: LinkTiming;
  /** The remote sites linked to this CO (leaf credentials issued). */
  sites: () => string[];
  /** Where the evidence survives a restart. */
  file: string;
  /**
   * Re-creates the CO's source of the site's stream (`source`), writes the aggregate's sources as they
   * should be (`config`: one missing or changed), or restarts the reader of the aggregate (`reader`).
   */
  repair: (siteId: string, what: 'source' | 'config' | 'reader') => Promise<void>;
  /**
   * What JetStream says of the CO's source of the site's stream (ADR 0502): a source JetStream is in
   * touch with is not re-created. Without it, every stall re-creates the source (ADR 0166).
   */
  checkSource?: (siteId: string) => Promise<SourceCheck>;
  /** True when the aggregate stream holds messages the reader has not processed. */
  readerBehind: () => Promise<boolean>;
  onChange?: () => void;
}

export interface HubLinks {
  start(): void;
  stop(): Promise<void>;
  /** A message of `siteId` was read from the aggregate (its origin sequence when sourced). */
  delivered(siteId: string, originSeq: number | null): void;
  evidence(siteId: string): HubSiteEvidence;
  /** Messages the site holds that the CO does not, from the newest probe answer; null when unknown. */
  backlog(siteId: string): number | null;
  /** One probe round and one watchdog pass (also run by the timer). */
  tick(): Promise<void>;
}

const emptyEvidence = (): HubSiteEvidence => ({
  pongAt: null,
  rttMs: null,
  pong: null,
  deliveryAt: null,
  receivedSeq: null,
  receivedAt: null,
  repairs: 0,
  lastRepairAt: null,
});

export function createHubLinks(o: HubLinksOptions): HubLinks {
  const { nc, clock, timing } = o;
  const log = o.logger.child({ part: 'site-links' });
  const store = jsonFile<Record<string, HubSiteEvidence>>(o.file, () => ({}), log);
  const state = store.load();
  const sent = new Map<string, { siteId: string; at: number }>();
  /** When the current "behind while answering" episode of a site started. */
  const stallSince = new Map<string, number>();
  /** Sites whose stall of this episode was left to JetStream (logged once per episode). */
  const leftToJetStream = new Set<string>();
  // One subscription per site: the leaf carries interest only in subjects its site may publish.
  const subs = new Map<string, Subscription>();
  let timer: NodeJS.Timeout | undefined;
  let saveTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const of = (siteId: string): HubSiteEvidence => (state[siteId] ??= emptyEvidence());
  const dirty = () => {
    if (saveTimer || stopped) return;
    saveTimer = setTimeout(() => {
      saveTimer = undefined;
      store.save(state);
    }, 1000);
    saveTimer.unref?.();
  };

  const onPong = (siteId: string, data: Uint8Array) => {
    let pong: LinkPong;
    try {
      pong = JSON.parse(new TextDecoder().decode(data)) as LinkPong;
    } catch {
      return;
    }
    const ping = typeof pong?.id === 'string' ? sent.get(pong.id) : undefined;
    if (!ping || ping.siteId !== siteId) return;
    sent.delete(pong.id);
    const now = clock.now();
    const e = of(ping.siteId);
    const was = e.pongAt;
    e.pongAt = now;
    e.rttMs = Math.max(0, now - ping.at);
    e.pong = pong;
    dirty();
    if (was === null || now - was > timing.unreachableAfterMs) o.onChange?.();
  };

  const probe = () => {
    const now = clock.now();
    // Probes never answered are forgotten after the threshold (the map stays small during a cut).
    for (const [id, p] of sent) if (now - p.at > timing.unreachableAfterMs) sent.delete(id);
    for (const siteId of o.sites()) {
      if (!subs.has(siteId)) {
        subs.set(
          siteId,
          nc.subscribe(linkPongSubject(siteId), {
            callback: (err, msg) => {
              if (!err) onPong(siteId, msg.data);
            },
          }),
        );
      }
      const id = crypto.randomBytes(8).toString('hex');
      const ping: LinkPing = { id, at: now, received: of(siteId).receivedSeq ?? 0 };
      sent.set(id, { siteId, at: now });
      try {
        nc.publish(linkPingSubject(siteId), JSON.stringify(ping), { reply: linkPongSubject(siteId) });
      } catch (err) {
        log.debug({ err, siteId }, 'link probe not sent');
      }
    }
  };

  /** A site answers probes and its stream has data the CO does not get: re-create what carries it. */
  const watchdog = async () => {
    const now = clock.now();
    for (const siteId of o.sites()) {
      const e = of(siteId);
      const answering = e.pongAt !== null && now - e.pongAt <= timing.unreachableAfterMs;
      const behind = answering && e.pong?.upLastSeq != null && e.pong.upLastSeq > (e.receivedSeq ?? 0);
      if (!behind) {
        stallSince.delete(siteId);
        leftToJetStream.delete(siteId);
        continue;
      }
      const since = stallSince.get(siteId) ?? now;
      stallSince.set(siteId, since);
      const quietFor = now - Math.max(since, e.receivedAt ?? 0);
      if (quietFor < timing.stallAfterMs) continue;
      if (e.lastRepairAt !== null && now - e.lastRepairAt < timing.stallAfterMs) continue;
      let what: 'source' | 'config' | 'reader' = (await o.readerBehind().catch(() => false))
        ? 'reader'
        : 'source';
      let why: string | undefined;
      if (what === 'source' && o.checkSource) {
        // JetStream's own word on the source first (ADR 0502): re-creating a source it is in touch with
        // only makes it copy again what the aggregate holds, which nats-server 2.9 then retries for as
        // long as the aggregate's duplicate window keeps refusing it.
        const c = await o.checkSource(siteId).catch((err: unknown) => ({
          kind: 'unknown' as const,
          reason: `cannot ask JetStream: ${(err as Error).message}`,
        }));
        if (c.kind === 'missing' || c.kind === 'misconfigured') what = 'config';
        if (c.kind === 'failing' || c.kind === 'unknown') why = c.reason;
        // A source just made (a site just linked, a restart) has not heard from its origin yet.
        if (c.kind === 'failing' && quietFor < Math.max(timing.stallAfterMs, SOURCE_SILENT_MS)) continue;
        if (c.kind === 'in-touch') {
          // Late deliveries (a loaded machine) or a message refused as a duplicate: both pass by
          // themselves, the second once the duplicate window is over. Re-created only after that.
          if (quietFor < c.duplicateWindowMs + Math.max(timing.stallAfterMs, SOURCE_SILENT_MS)) {
            if (!leftToJetStream.has(siteId))
              log.info(
                { siteId, lag: c.lag, activeMs: Math.round(c.activeMs), quietMs: quietFor },
                "the site's data is late, but JetStream is in touch with its source; left alone",
              );
            leftToJetStream.add(siteId);
            continue;
          }
          why = `no data for ${Math.round(quietFor / 1000)} s though JetStream is in touch with the source`;
        }
      }
      log.warn(
        {
          siteId,
          what,
          siteLastSeq: e.pong?.upLastSeq,
          received: e.receivedSeq,
          quietMs: quietFor,
          ...(why ? { why } : {}),
        },
        "the site's data stopped advancing while its link answers; re-creating what carries it",
      );
      e.repairs++;
      e.lastRepairAt = now;
      stallSince.set(siteId, now);
      dirty();
      o.onChange?.();
      try {
        await o.repair(siteId, what);
      } catch (err) {
        log.warn({ err, siteId, what }, 'link repair failed; trying again later');
      }
    }
  };

  const tick = async () => {
    if (stopped) return;
    probe();
    await watchdog();
  };

  return {
    start() {
      stopped = false;
      timer = setInterval(() => {
        if (running) return;
        running = tick()
          .catch((err: unknown) => log.debug({ err }, 'link tick failed'))
          .finally(() => {
            running = undefined;
          });
      }, timing.pingEveryMs);
      timer.unref?.();
      // The first probe right away (the reader may not have any delivery yet).
      probe();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      for (const sub of subs.values()) sub.unsubscribe();
      subs.clear();
      await running;
      clearTimeout(saveTimer);
      saveTimer = undefined;
      store.save(state);
    },
    delivered(siteId, originSeq) {
      const now = clock.now();
      const e = of(siteId);
      const was = e.deliveryAt;
      e.deliveryAt = now;
      if (originSeq !== null && originSeq > (e.receivedSeq ?? 0)) {
        e.receivedSeq = originSeq;
        e.receivedAt = now;
      } else if (originSeq !== null && e.receivedSeq !== null && originSeq < e.receivedSeq - 1_000_000) {
        // The site's stream was made again (its sequence started over).
        e.receivedSeq = originSeq;
        e.receivedAt = now;
      }
      dirty();
      if (was === null || now - was > timing.unreachableAfterMs) o.onChange?.();
    },
    evidence: (siteId) => ({ ...of(siteId) }),
    backlog(siteId) {
      const e = of(siteId);
      if (!e.pong || e.pong.upLastSeq === null) return null;
      const inStream = Math.max(0, e.pong.upLastSeq - (e.receivedSeq ?? 0));
      return inStream + (e.pong.outbox ?? 0);
    },
    tick,
  };
}

// ---------------------------------------------------------------- LO side

export interface SiteLinkState {
  /** The newest probe from the CO (LO clock) and the CO's clock in it. */
  pingAt: number | null;
  hubAt: number | null;
  /** How far the CO said it holds this site's upward stream. */
  hubReceived: number | null;
}

export interface SiteLinkResponderOptions {
  nc: NatsConnection;
  siteId: string;
  clock: Clock;
  logger: Logger;
  /** This LO's upward stream. */
  upStream: string;
  /** Reports in the LO's own outbox not yet in its stream (null: unknown). */
  outbox: () => number | null;
  file: string;
  onChange?: () => void;
  unreachableAfterMs: number;
}

export interface SiteLinkResponder {
  start(): void;
  stop(): Promise<void>;
  state(): SiteLinkState;
  /** The upward stream's last sequence, as last read. */
  upLastSeq(): number | null;
  /** What this site holds that the CO does not: the outbox plus the stream beyond what the CO confirmed. */
  backlog(): Promise<number | null>;
}

export function createSiteLinkResponder(o: SiteLinkResponderOptions): SiteLinkResponder {
  const log = o.logger.child({ part: 'hub-link' });
  const store = jsonFile<SiteLinkState>(
    o.file,
    () => ({ pingAt: null, hubAt: null, hubReceived: null }),
    log,
  );
  const st = store.load();
  let sub: Subscription | undefined;
  let lastSeq: number | null = null;
  let lastSeqAt = 0;
  let lastSave = 0;

  const readLastSeq = async (): Promise<number | null> => {
    const now = o.clock.now();
    if (lastSeq !== null && now - lastSeqAt < 500) return lastSeq;
    try {
      const info = await (await jetstreamManager(o.nc)).streams.info(o.upStream);
      lastSeq = info.state.last_seq;
      lastSeqAt = now;
    } catch {
      /* the stream is not there yet */
    }
    return lastSeq;
  };

  return {
    start() {
      sub = o.nc.subscribe(linkPingSubject(o.siteId), {
        callback: (err, msg) => {
          if (err) return;
          let ping: LinkPing;
          try {
            ping = msg.json<LinkPing>();
          } catch {
            return;
          }
          const now = o.clock.now();
          const was = st.pingAt;
          st.pingAt = now;
          st.hubAt = typeof ping.at === 'number' ? ping.at : null;
          if (typeof ping.received === 'number' || ping.received === null) st.hubReceived = ping.received;
          if (now - lastSave > 5_000) {
            lastSave = now;
            store.save(st);
          }
          if (was === null || now - was > o.unreachableAfterMs) o.onChange?.();
          void readLastSeq().then((upLastSeq) => {
            const pong: LinkPong = { id: ping.id, at: o.clock.now(), upLastSeq, outbox: o.outbox() };
            try {
              msg.respond(JSON.stringify(pong));
            } catch (e) {
              log.debug({ err: e }, 'link probe not answered');
            }
          });
        },
      });
    },
    async stop() {
      sub?.unsubscribe();
      store.save(st);
    },
    state: () => ({ ...st }),
    upLastSeq: () => lastSeq,
    async backlog() {
      const seq = await readLastSeq();
      const outbox = o.outbox();
      if (seq === null || st.hubReceived === null) return null;
      return Math.max(0, seq - st.hubReceived) + (outbox ?? 0);
    },
  };
}
