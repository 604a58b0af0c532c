import fs from 'node:fs';
import path from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import type { Logger } from '../../lib/log/index.js';
import {
  HEADER_SENT_AT,
  HEADER_SEQ,
  HEADER_STREAM_SOURCE,
  ROOT,
  sourcedSequence,
  parseSiteSubject,
  type ParsedSubject,
} from '../../lib/bus/index.js';

/**
 * Reads an upward stream (the LO's `OUTPOST_UP_<site>` or the CO's aggregate `OUTPOST_UP`) in order
 * and hands each message to the application once (ADR 0163):
 *  - an ordered consumer resumes after the last processed stream sequence (kept in a cursor file), so
 *    nothing is skipped across nats-server restarts, leaf disconnects or a restart of this process;
 *  - node messages carry a per-node sequence number (`Outpost-Seq`, strictly increasing per node);
 *    one not above the last applied for that node is a duplicate (a retried publish, a re-sourced
 *    message) and is dropped, so the application sees each report once, in the node's order.
 * A handler that throws is retried (backoff) before the message is logged and skipped, so one bad
 * message cannot stop the flow for every node.
 */

export interface UpMessage {
  siteId: string;
  /** `co` for desired-state notices read from a downward stream. */
  source: 'node' | 'lo' | 'co';
  /** Set for node messages. */
  nodeUid?: string;
  /** `status`, `events` (node), `heartbeat`, `presence` (LO) or `desired` (CO). */
  kind: string;
  /** The node's sequence number (node messages). */
  seq: number | null;
  /** When the sender published it (its clock). */
  sentAt: number | null;
  /** When the stream that holds it stored it. */
  storedAt: number;
  streamSeq: number;
  /** For a sourced message: the origin stream and its sequence there (`Nats-Stream-Source`). */
  origin: { stream: string; seq: number } | null;
  body: unknown;
}

export interface UplinkReaderOptions {
  nc: NatsConnection;
  stream: string;
  /** Where the position and per-node sequence numbers are kept. */
  cursorFile: string;
  logger: Logger;
  handle: (m: UpMessage) => Promise<void> | void;
  /** Sees every message read, duplicates included, before it is handled (link evidence). */
  observe?: (m: UpMessage) => void;
  /** Attempts per message before it is skipped (default 5). */
  attempts?: number;
}

export interface UplinkReader {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The last processed stream sequence. */
  position(): number;
  /** Messages dropped as duplicates since start. */
  duplicates(): number;
  /** Drops the consumer and reads on with a fresh one from the cursor (the link watchdog). */
  restart(): void;
}

interface Cursor {
  streamSeq: number;
  nodes: Record<string, number>;
}

function readCursor(file: string): Cursor {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as Cursor;
    if (typeof c.streamSeq === 'number' && c.nodes && typeof c.nodes === 'object') return c;
  } catch {
    /* start from the beginning */
  }
  return { streamSeq: 0, nodes: {} };
}

function parseAny(subject: string): ParsedSubject | undefined {
  const t = subject.split('.');
  if (t.length === 3 && t[0] === ROOT && t[1] === 'desired' && t[2])
    return { siteId: t[2], source: 'co', kind: 'desired' };
  return parseSiteSubject(subject);
}

export function decodeUpMessage(m: JsMsg): UpMessage | undefined {
  const parsed = parseAny(m.subject);
  if (!parsed) return undefined;
  const num = (k: string): number | null => {
    const v = m.headers?.get(k);
    const n = v ? Number(v) : NaN;
    return Number.isFinite(n) ? n : null;
  };
  let body: unknown;
  try {
    body = m.json();
  } catch {
    body = m.string();
  }
  return {
    siteId: parsed.siteId,
    source: parsed.source,
    ...(parsed.nodeUid ? { nodeUid: parsed.nodeUid } : {}),
    kind: parsed.kind,
    seq: num(HEADER_SEQ),
    sentAt:
      num(HEADER_SENT_AT) ??
      (typeof (body as { at?: unknown })?.at === 'number' ? (body as { at: number }).at : null),
    storedAt: Math.floor(m.info.timestampNanos / 1e6),
    streamSeq: m.seq,
    origin: sourcedSequence(m.headers?.get(HEADER_STREAM_SOURCE)),
    body,
  };
}

export function createUplinkReader(o: UplinkReaderOptions): UplinkReader {
  const { nc, logger } = o;
  const cursor = readCursor(o.cursorFile);
  let messages: ConsumerMessages | undefined;
  let running = false;
  let loop: Promise<void> | undefined;
  let dirty = false;
  let saveTimer: NodeJS.Timeout | undefined;
  let dups = 0;

  const save = () => {
    if (!dirty) return;
    dirty = false;
    fs.mkdirSync(path.dirname(o.cursorFile), { recursive: true, mode: 0o700 });
    const tmp = `${o.cursorFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(cursor), { mode: 0o600 });
    fs.renameSync(tmp, o.cursorFile);
  };
  const scheduleSave = () => {
    dirty = true;
    if (saveTimer) return;
    saveTimer = setTimeout(() => {
      saveTimer = undefined;
      try {
        save();
      } catch (err) {
        logger.warn({ err, file: o.cursorFile }, 'cannot save the uplink cursor');
      }
    }, 200);
    saveTimer.unref?.();
  };

  const apply = async (m: JsMsg) => {
    const up = decodeUpMessage(m);
    if (up) {
      try {
        o.observe?.(up);
      } catch (err) {
        logger.debug({ err }, 'upward message observer failed');
      }
      // Per site and node: two sites' LOs may both call a node `default.press-01`. (Cursors written
      // before the key had the site fall back to the node's name alone.)
      const key = up.nodeUid === undefined ? undefined : `${up.siteId}/${up.nodeUid}`;
      const last = key === undefined ? undefined : (cursor.nodes[key] ?? cursor.nodes[up.nodeUid!]);
      if (key !== undefined && up.seq !== null && last !== undefined && up.seq <= last) {
        dups++;
        logger.debug({ nodeUid: key, seq: up.seq, last }, 'duplicate upward message dropped');
      } else {
        const attempts = o.attempts ?? 5;
        for (let i = 1; ; i++) {
          try {
            await o.handle(up);
            break;
          } catch (err) {
            if (i >= attempts || !running) {
              logger.error(
                { err, subject: m.subject, streamSeq: m.seq },
                'upward message skipped after failed attempts',
              );
              break;
            }
            await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** i)));
          }
        }
        if (key !== undefined && up.seq !== null) cursor.nodes[key] = up.seq;
      }
    }
    cursor.streamSeq = m.seq;
    scheduleSave();
  };

  const watchConnection = async () => {
    // After a reconnect (e.g. the server restarted) start a fresh consumer at once instead of waiting
    // for missed heartbeats to tell the old one is gone.
    for await (const s of nc.status()) {
      if (!running) break;
      if (s.type === 'reconnect') messages?.stop();
    }
  };

  const run = async () => {
    void watchConnection().catch(() => undefined);
    const js = jetstream(nc);
    let checked = false;
    while (running) {
      try {
        if (!checked) {
          // A stream that was deleted and made again starts its sequence over: start over with it
          // (the per-node sequence numbers still drop what was already applied).
          const info = await (await jetstreamManager(nc)).streams.info(o.stream);
          if (info.state.last_seq < cursor.streamSeq) {
            logger.warn(
              { stream: o.stream, cursor: cursor.streamSeq, lastSeq: info.state.last_seq },
              'stream is behind the cursor; reading it from the start',
            );
            cursor.streamSeq = 0;
            scheduleSave();
          }
          checked = true;
        }
        const consumer = await js.consumers.get(o.stream, {
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: cursor.streamSeq + 1,
        });
        messages = await consumer.consume({ max_messages: 256, expires: 2_000 });
        if (!running) {
          messages.stop();
          break;
        }
        for await (const m of messages) {
          if (!running) break;
          if (m.seq <= cursor.streamSeq) continue;
          await apply(m);
        }
      } catch (err) {
        if (!running) break;
        logger.debug({ err, stream: o.stream }, 'uplink reader restarting');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };

  return {
    async start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async stop() {
      running = false;
      messages?.stop();
      await loop;
      clearTimeout(saveTimer);
      saveTimer = undefined;
      save();
    },
    position: () => cursor.streamSeq,
    duplicates: () => dups,
    restart() {
      messages?.stop();
    },
  };
}
