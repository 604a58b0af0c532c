import {
  connect,
  headers as natsHeaders,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { systemClock, type Clock } from '../base/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { OutpostError } from '../errors/index.js';
import { HEADER_SENT_AT, HEADER_SEQ, nodeInboxPrefix, nodeSubject } from './subjects.js';
import { fastNkeyAuthenticator } from './nkeys.js';

/**
 * The agent's side of the bus (used by the edge-node agent): receive "poll now", send heartbeats
 * (core NATS, fire and forget) and publish status and events through JetStream (acknowledged by the
 * LO's stream, de-duplicated by message id). Reconnects forever; a lost notice only costs latency,
 * because the agent keeps polling on its interval.
 */

export interface PollNowNotice {
  /** When the LO sent it (ms since epoch, the LO's clock). */
  at: number;
  reason?: string;
  manifestVersion?: number;
}

/** What the LO asks a node for over `...node.<node>.logs` (ADR 0016): the output of a deployment's workloads. */
export interface LogsRequest {
  deploymentId: string;
  component?: string;
  /** Lines per component (the node caps it). */
  tail?: number;
}

/** The node's answer: each component's last lines, or an error with a code. */
export type LogsReply =
  | {
      ok: true;
      at: number;
      components: {
        component: string;
        kind: string;
        lines: string[];
        truncated: boolean;
        note?: string;
      }[];
    }
  | { ok: false; error: { code: string; message: string } };

/** The largest logs reply a node sends (the bus's max_payload is 1 MiB). */
export const LOGS_REPLY_MAX_BYTES = 512 * 1024;

export interface AgentBusOptions {
  url: string | string[];
  /** The node's NKEY seed (`SU...`) from its enrollment response. */
  seed: string;
  /** The node's public NKEY (`U...`, the enrollment response's `user`), when known. */
  user?: string;
  nodeUid: string;
  siteId: string;
  tls?: { caFile: string; certFile?: string; keyFile?: string } | undefined;
  /** Heartbeat period (`nats.heartbeatSeconds`); each beat is jittered by +-10%. Default 10. */
  heartbeatSeconds?: number;
  /** Extra fields for every heartbeat (agent version, uptime, ...). */
  heartbeatInfo?: () => Record<string, unknown>;
  clock?: Clock;
  logger?: Logger;
}

export interface PublishReceipt {
  /** The per-node sequence number the message carries (strictly increasing). */
  seq: number;
  /** The LO stream's sequence. */
  streamSeq: number;
  /** True when the LO already had this message (a retry of an acknowledged publish). */
  duplicate: boolean;
}

export interface PublishOptions {
  /** Reuse the sequence number of a failed attempt so the LO de-duplicates the retry. */
  seq?: number;
  timeoutMs?: number;
}

export interface AgentBus {
  readonly nodeUid: string;
  readonly siteId: string;
  onPollNow(cb: (notice: PollNowNotice) => void): () => void;
  /** Answers the LO's logs requests with `handler` (one handler; a later call replaces it). */
  onLogsRequest(handler: (request: LogsRequest) => Promise<LogsReply>): void;
  /** Sends one heartbeat now (they are also sent periodically and after every reconnect). */
  heartbeat(): void;
  /** Publishes a status report; resolves when the LO's stream has stored it. */
  publishStatus(body: unknown, options?: PublishOptions): Promise<PublishReceipt>;
  publishEvent(body: unknown, options?: PublishOptions): Promise<PublishReceipt>;
  /** The next sequence number (to persist or to retry with). */
  nextSeq(): number;
  isConnected(): boolean;
  close(): Promise<void>;
}

/** Connects (waiting for the LO if it is down) and starts heartbeating. */
export async function connectAgentBus(o: AgentBusOptions): Promise<AgentBus> {
  const clock = o.clock ?? systemClock;
  const logger = o.logger ?? silentLogger();
  const hbMs = (o.heartbeatSeconds ?? 10) * 1000;
  const subjects = {
    notify: nodeSubject(o.siteId, o.nodeUid, 'notify'),
    status: nodeSubject(o.siteId, o.nodeUid, 'status'),
    events: nodeSubject(o.siteId, o.nodeUid, 'events'),
    presence: nodeSubject(o.siteId, o.nodeUid, 'presence'),
    logs: nodeSubject(o.siteId, o.nodeUid, 'logs'),
  };
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: o.url,
      name: o.nodeUid,
      authenticator: fastNkeyAuthenticator(o.seed, o.user),
      inboxPrefix: nodeInboxPrefix(o.siteId, o.nodeUid),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 500,
      waitOnFirstConnect: true,
      pingInterval: Math.max(5_000, hbMs),
      ...(o.tls ? { tls: { ...o.tls } } : {}),
    });
  } catch (err) {
    throw new OutpostError(
      'nats-unavailable',
      `cannot connect to the site's NATS server: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const js: JetStreamClient = jetstream(nc);
  const callbacks = new Set<(n: PollNowNotice) => void>();
  let lastSeq = 0;
  let hbCount = 0;
  let closed = false;
  let hbTimer: NodeJS.Timeout | undefined;
  let connected = true;

  const sub: Subscription = nc.subscribe(subjects.notify, {
    callback: (err, msg) => {
      if (err) {
        logger.warn({ err }, 'poll-now subscription failed');
        return;
      }
      let notice: PollNowNotice;
      try {
        notice = msg.json<PollNowNotice>();
      } catch {
        notice = { at: clock.now() };
      }
      for (const cb of callbacks) {
        try {
          cb(notice);
        } catch (e) {
          logger.warn({ err: e }, 'poll-now callback failed');
        }
      }
    },
  });

  let logsHandler: ((r: LogsRequest) => Promise<LogsReply>) | undefined;
  const logsSub: Subscription = nc.subscribe(subjects.logs, {
    callback: (err, msg) => {
      if (err || !msg.reply) return;
      const answer = async (): Promise<LogsReply> => {
        if (!logsHandler)
          return {
            ok: false,
            error: { code: 'not-implemented', message: 'this agent answers no logs requests' },
          };
        let req: LogsRequest;
        try {
          req = msg.json<LogsRequest>();
        } catch {
          return { ok: false, error: { code: 'invalid-input', message: 'the logs request is not JSON' } };
        }
        if (typeof req?.deploymentId !== 'string' || req.deploymentId === '')
          return {
            ok: false,
            error: { code: 'invalid-input', message: 'the logs request names no deployment' },
          };
        try {
          return await logsHandler(req);
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          return {
            ok: false,
            error: { code: typeof code === 'string' ? code : 'internal', message: (e as Error).message },
          };
        }
      };
      void answer().then((reply) => {
        let body = JSON.stringify(reply);
        // Too big for one message: keep the newest lines of every component.
        while (Buffer.byteLength(body) > LOGS_REPLY_MAX_BYTES && reply.ok) {
          for (const c of reply.components) {
            c.lines = c.lines.slice(Math.ceil(c.lines.length / 2));
            c.truncated = true;
          }
          body = JSON.stringify(reply);
          if (reply.components.every((c) => c.lines.length === 0)) break;
        }
        try {
          msg.respond(body);
        } catch (e) {
          logger.debug({ err: e }, 'logs reply not sent');
        }
      });
    },
  });

  const beat = () => {
    if (closed || nc.isClosed()) return;
    hbCount++;
    try {
      nc.publish(subjects.presence, JSON.stringify({ at: clock.now(), n: hbCount, ...o.heartbeatInfo?.() }));
    } catch (err) {
      logger.debug({ err }, 'heartbeat not sent');
    }
  };
  const schedule = () => {
    const jitter = 0.9 + Math.random() * 0.2;
    hbTimer = setTimeout(() => {
      beat();
      schedule();
    }, hbMs * jitter);
    hbTimer.unref?.();
  };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') connected = false;
      if (s.type === 'reconnect') {
        connected = true;
        beat();
      }
    }
  })().catch(() => undefined);
  beat();
  schedule();

  const nextSeq = () => {
    lastSeq = Math.max(lastSeq + 1, clock.now() * 1000);
    return lastSeq;
  };

  const publish = async (
    subject: string,
    body: unknown,
    opts: PublishOptions = {},
  ): Promise<PublishReceipt> => {
    if (closed) throw new OutpostError('nats-unavailable', 'the agent bus is closed');
    const seq = opts.seq ?? nextSeq();
    if (opts.seq !== undefined) lastSeq = Math.max(lastSeq, opts.seq);
    const h = natsHeaders();
    h.set(HEADER_SEQ, String(seq));
    h.set(HEADER_SENT_AT, String(clock.now()));
    try {
      const ack = await js.publish(subject, JSON.stringify(body), {
        msgID: `${o.nodeUid}:${seq}`,
        headers: h,
        timeout: opts.timeoutMs ?? 5_000,
      });
      return { seq, streamSeq: ack.seq, duplicate: ack.duplicate };
    } catch (err) {
      throw new OutpostError(
        'nats-unavailable',
        `report ${seq} not acknowledged by the LO: ${(err as Error).message}`,
        {
          cause: err,
          data: { seq },
        },
      );
    }
  };

  return {
    nodeUid: o.nodeUid,
    siteId: o.siteId,
    onPollNow(cb) {
      callbacks.add(cb);
      return () => callbacks.delete(cb);
    },
    onLogsRequest(handler) {
      logsHandler = handler;
    },
    heartbeat: beat,
    publishStatus: (body, opts) => publish(subjects.status, body, opts),
    publishEvent: (body, opts) => publish(subjects.events, body, opts),
    nextSeq,
    isConnected: () => connected && !closed && !nc.isClosed(),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(hbTimer);
      sub.unsubscribe();
      logsSub.unsubscribe();
      await nc.close();
    },
  };
}
