/**
 * One process of the fleet simulator (issue 18): a share of the fleet's nodes, each with its own key and
 * X.509-SVID, behaving towards one LO as the edge agent does:
 * - polls `GET /api/v1/deployments` with `If-None-Match` every `pollSeconds` (jittered +-10%, random
 *   phase) over its own `https.Agent` with the agent's connection settings (agents/margo/mmi-client.ts:
 *   kept sockets, one free socket kept 120 s, one cached TLS session);
 * - on a new manifest fetches what it does not hold (the bundle on its first sync, else the YAML of each
 *   changed deployment), checks every digest, and reports `installing` then `installed` for each;
 * - retries as the agent does: a request on a kept connection that the LO reset before answering is sent
 *   again at once on a new one (agents/margo/mmi-client.ts); a failed poll waits the agent's backoff (the
 *   poll period, doubling up to 300 s); a report that failed is sent again after the outbox's backoff
 *   (1 s, doubling), or at once when a poll reached the LO (agents/node/modules/outbox-delivery.ts);
 * - holds a NATS connection (TLS, its NKEY user and permissions) with presence heartbeats every
 *   `heartbeatSeconds` (jittered +-10%), and polls at once on a "poll now" notice.
 * The parent (bench/fleet/fleet.ts) drives it over IPC: `issue` (make keys and SVIDs from the site CA),
 * `start`, `stats`, `stop`. Everything it counts is per process; the parent sums.
 */
import crypto from 'node:crypto';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { createSvidIssuer } from '../../core/ca/index.js';
import { clientSpiffeId, mtlsClientOptions } from '../../lib/identity/index.js';
import { fastNkeyAuthenticator } from '../../lib/bus/index.js';
import { MANIFEST_MEDIA_TYPE } from '../../lib/model/index.js';
import type { FleetCommand, IssuedIdentity, NodeBus, SimReply, SimStats, StartOptions } from './protocol.js';

interface Node {
  clientId: string;
  certPem: string;
  keyPem: string;
  agent?: https.Agent;
  etag: string | undefined;
  /** deploymentId -> digest of the YAML held. */
  held: Map<string, string>;
  nextPoll: number;
  polling: boolean;
  again: boolean;
  /** Times (epoch ms) at which the k-th manifest with deployments was installed and reported. */
  installedAt: number[];
  bus?: NodeBus;
  /** The NATS connection once it is up (TLS when the server asks for it). */
  sock?: net.Socket;
  beats: number;
  /**
   * Reports not yet accepted, in order (the agent's outbox): a report that fails is sent again before
   * anything else, so a manifest is counted as installed only once its `installed` was accepted.
   */
  outbox: { deploymentId: string; version: number; state: string }[];
  /** Whether the outbox ends an install (its last `installed` counts one in `installedAt`). */
  installPending: boolean;
  /** Delivery of the outbox in progress, its consecutive failures, and the retry timer after one. */
  delivering: boolean;
  reportFailures: number;
  retryTimer?: NodeJS.Timeout;
  /** Consecutive failed polls (the agent's poll backoff). */
  pollFailures: number;
  lastPollStatus: number | null;
  lastPollAt: number | null;
  pollNows: number;
  lastError: string | null;
}

const nodes: Node[] = [];
let options: StartOptions | undefined;
let ticker: NodeJS.Timeout | undefined;
let stopped = false;
const counters = {
  polls: 0,
  notModified: 0,
  manifests: 0,
  fetches: 0,
  statusPosts: 0,
  errors: 0,
  connections: 0,
  resumed: 0,
  pollNow: 0,
  heartbeats: 0,
  busErrors: 0,
  busConnected: 0,
  busReconnects: 0,
  reportRetries: 0,
  staleRetries: 0,
};
const errorSamples: string[] = [];
const pollMs: number[] = [];

function noteError(what: string, err: unknown): void {
  counters.errors++;
  if (errorSamples.length < 40) errorSamples.push(`${what}: ${(err as Error).message ?? String(err)}`);
}

const jittered = (base: number) => base * (0.9 + 0.2 * Math.random());
/** The agent's backoff (agents/node/schedule.ts): `first * 2^(failures-1)` capped at `max`. */
const backoffMs = (failures: number, first: number, max: number) =>
  Math.min(max, first * 2 ** Math.min(failures - 1, 30));
const MAX_BACKOFF_MS = 300_000;
const sha256 = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

function send(msg: SimReply): void {
  process.send?.(msg);
}

// ---- identities ----

async function issue(cmd: Extract<FleetCommand, { cmd: 'issue' }>): Promise<IssuedIdentity[]> {
  const issuer = await createSvidIssuer(cmd.ca);
  const out: IssuedIdentity[] = [];
  for (const clientId of cmd.clientIds) {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spiffeId = clientSpiffeId(cmd.trustDomain, cmd.wfmId, clientId);
    const svid = await issuer.issue({ publicKey, spiffeId, now: cmd.now, ttlSeconds: cmd.ttlSeconds });
    nodes.push({
      clientId,
      certPem: svid.certPem,
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      etag: undefined,
      held: new Map(),
      nextPoll: 0,
      polling: false,
      again: false,
      installedAt: [],
      beats: 0,
      outbox: [],
      installPending: false,
      delivering: false,
      reportFailures: 0,
      pollFailures: 0,
      lastPollStatus: null,
      lastPollAt: null,
      pollNows: 0,
      lastError: null,
    });
    out.push({ clientId, spiffeId, serialHex: svid.serialHex, notAfter: svid.notAfter });
  }
  return out;
}

// ---- the MMI, as the agent talks to it ----

function agentFor(n: Node, o: StartOptions): https.Agent {
  if (n.agent) return n.agent;
  const { cert, key, ca, minVersion, ...check } = mtlsClientOptions({
    certPem: n.certPem,
    keyPem: n.keyPem,
    anchorsPem: o.anchorsPem,
  });
  n.agent = new https.Agent({
    ...check,
    secureContext: tls.createSecureContext({ cert, key, ca, minVersion }),
    minVersion,
    keepAlive: true,
    maxSockets: 4,
    maxFreeSockets: 1,
    timeout: 120_000,
    maxCachedSessions: 1,
  });
  return n.agent;
}

function request(
  n: Node,
  method: string,
  pathname: string,
  headers: Record<string, string>,
  body?: Buffer,
  retried = false,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const o = options!;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: o.mmiHost,
        port: o.mmiPort,
        method,
        path: o.mmiBasePath + pathname,
        agent: agentFor(n, o),
        headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('socket', (s: tls.TLSSocket & { [sockInfo]?: SockInfo }) => {
      const info = (s[sockInfo] ??= { openedAt: Date.now(), requests: 0 });
      info.requests++;
      // A new connection (not one taken from the free list): count it and whether it resumed.
      if ((req as unknown as { reusedSocket: boolean }).reusedSocket) return;
      s.once('secureConnect', () => {
        counters.connections++;
        if (s.isSessionReused()) counters.resumed++;
      });
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${pathname} timed out`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // As the agent's MMI client: a kept connection reset before any answer is tried again at once, once.
      const reused = (req as unknown as { reusedSocket: boolean }).reusedSocket;
      if (!retried && reused && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
        counters.staleRetries++;
        resolve(request(n, method, pathname, headers, body, true));
        return;
      }
      // Which connection failed (kept or new, how old, how many requests it carried) tells a reset by the
      // LO from one by the kernel.
      const s = req.socket as (tls.TLSSocket & { [sockInfo]?: SockInfo }) | null;
      const info = s?.[sockInfo];
      err.message += ` [${method} ${pathname.split('/').slice(-1)[0]}, ${reused ? 'kept' : 'new'} connection${
        info ? `, ${Math.round((Date.now() - info.openedAt) / 1000)} s old, request ${info.requests}` : ''
      }, at ${new Date().toISOString().slice(11, 23)}]`;
      reject(err);
    });
    req.end(body);
  });
}

const sockInfo = Symbol('sockInfo');
interface SockInfo {
  openedAt: number;
  requests: number;
}

interface Manifest {
  manifestVersion: number;
  bundle: { digest: string; url: string } | null;
  deployments: { deploymentId: string; digest: string; url: string }[];
}

async function report(n: Node, deploymentId: string, version: number, state: string): Promise<void> {
  const body = Buffer.from(
    JSON.stringify({
      deploymentId,
      adoptedManifestVersion: version,
      status: { state },
      components: [{ name: 'hello', state }],
    }),
  );
  const now = String(Date.now());
  const r = await request(
    n,
    'POST',
    `/api/v1/deployments/${encodeURIComponent(deploymentId)}/status`,
    { 'content-type': 'application/json', 'outpost-event-at': now, 'outpost-sent-at': now },
    body,
  );
  counters.statusPosts++;
  if (r.status !== 200 && r.status !== 201)
    throw new Error(`status for ${deploymentId} answered ${r.status}: ${r.body.toString().slice(0, 200)}`);
}

/** Sends what the outbox holds, oldest first; stops at the first failure (kept for the retry). */
async function flushOutbox(n: Node, retry: boolean): Promise<void> {
  while (n.outbox.length > 0) {
    const r = n.outbox[0]!;
    if (retry) counters.reportRetries++;
    await report(n, r.deploymentId, r.version, r.state);
    n.outbox.shift();
  }
  if (n.installPending) {
    n.installPending = false;
    n.installedAt.push(Date.now());
  }
}

/**
 * The agent's outbox delivery: sends at once; after a failure waits 1 s, doubling (jittered), or less when
 * a poll reaches the LO first (`deliver(n, true)` from the poll).
 */
function deliver(n: Node, pollReachedLo = false): void {
  if (stopped || n.delivering || n.outbox.length === 0) return;
  if (n.retryTimer) {
    if (!pollReachedLo) return;
    clearTimeout(n.retryTimer);
    n.retryTimer = undefined;
  }
  n.delivering = true;
  flushOutbox(n, n.reportFailures > 0)
    .then(
      () => {
        n.reportFailures = 0;
      },
      (err: unknown) => {
        n.reportFailures++;
        n.lastError = (err as Error).message ?? String(err);
        noteError(`report ${n.clientId}`, err);
        n.retryTimer = setTimeout(
          () => {
            n.retryTimer = undefined;
            deliver(n);
          },
          jittered(backoffMs(n.reportFailures, 1000, MAX_BACKOFF_MS)),
        );
      },
    )
    .finally(() => {
      n.delivering = false;
    });
}

async function pollOnce(n: Node): Promise<void> {
  const started = performance.now();
  const r = await request(n, 'GET', '/api/v1/deployments', {
    accept: MANIFEST_MEDIA_TYPE,
    ...(n.etag ? { 'if-none-match': n.etag } : {}),
  });
  counters.polls++;
  // The LO answered: reports waiting for their retry go now (the agent's poll ends the outbox's wait).
  deliver(n, true);
  n.lastPollStatus = r.status;
  n.lastPollAt = Date.now();
  if (pollMs.length < 200_000) pollMs.push(performance.now() - started);
  if (r.status === 304) {
    counters.notModified++;
    return;
  }
  if (r.status !== 200) throw new Error(`poll answered ${r.status}: ${r.body.toString().slice(0, 200)}`);
  counters.manifests++;
  const m = JSON.parse(r.body.toString()) as Manifest;
  const missing = m.deployments.filter((d) => n.held.get(d.deploymentId) !== d.digest);
  const fetched = new Map<string, string>();
  if (missing.length > 0 && m.bundle && n.held.size === 0) {
    // First sync: the whole bundle, as the agent does (its digest checked; the YAMLs are in it).
    const b = await request(n, 'GET', stripBase(m.bundle.url), {});
    counters.fetches++;
    if (b.status !== 200 || sha256(b.body) !== m.bundle.digest) throw new Error('bundle digest mismatch');
    for (const d of missing) fetched.set(d.deploymentId, d.digest);
  } else {
    for (const d of missing) {
      const y = await request(n, 'GET', stripBase(d.url), {});
      counters.fetches++;
      if (y.status !== 200 || sha256(y.body) !== d.digest)
        throw new Error(`YAML of ${d.deploymentId}: ${y.status}, digest mismatch`);
      fetched.set(d.deploymentId, d.digest);
    }
  }
  n.etag = typeof r.headers.etag === 'string' ? r.headers.etag : undefined;
  for (const id of [...n.held.keys()])
    if (!m.deployments.some((d) => d.deploymentId === id)) n.held.delete(id);
  for (const [id, digest] of fetched) n.held.set(id, digest);
  if (fetched.size === 0) return;
  for (const state of ['installing', 'installed'])
    for (const id of fetched.keys()) n.outbox.push({ deploymentId: id, version: m.manifestVersion, state });
  n.installPending = true;
  deliver(n);
}

/** Manifest URLs are absolute paths that carry the base path already. */
function stripBase(url: string): string {
  const p = url.startsWith('/') ? url : new URL(url).pathname;
  const base = options!.mmiBasePath;
  return base && p.startsWith(base) ? p.slice(base.length) : p;
}

function run(n: Node): void {
  if (stopped) return;
  if (n.polling) {
    n.again = true;
    return;
  }
  n.polling = true;
  pollOnce(n)
    .then(
      () => {
        n.pollFailures = 0;
      },
      (err: unknown) => {
        n.pollFailures++;
        n.lastError = (err as Error).message ?? String(err);
        noteError(`poll ${n.clientId}`, err);
      },
    )
    .finally(() => {
      n.polling = false;
      // The agent's wait: the poll period, or its backoff after failures (the period, doubling).
      const period = options!.pollSeconds * 1000;
      n.nextPoll =
        Date.now() +
        jittered(
          n.pollFailures ? backoffMs(n.pollFailures, period, Math.max(period, MAX_BACKOFF_MS)) : period,
        );
      if (n.again) {
        n.again = false;
        run(n);
      }
    });
}

// ---- NATS: presence and "poll now" (the text protocol over TLS, as the agent's client speaks it) ----

function connectBus(n: Node, o: StartOptions, bus: NodeBus): Promise<void> {
  return new Promise((resolve, reject) => {
    const auth = fastNkeyAuthenticator(bus.seed, bus.user);
    const raw = net.connect({ host: o.natsHost, port: o.natsPort });
    let sock: net.Socket | tls.TLSSocket = raw;
    let buf = '';
    let ready = false;
    let nonce = '';
    const fail = (e: Error) => {
      if (ready) counters.busErrors++;
      else reject(e);
    };
    raw.on('error', fail);
    raw.on('close', () => {
      if (!ready || stopped) return;
      // The server closed the connection (as for any client it finds slow or stale): the agent
      // connects again, so does a simulated node.
      if (n.sock === sock) n.sock = undefined;
      setTimeout(() => {
        if (stopped) return;
        connectBusPatiently(n, o, bus).then(
          () => counters.busReconnects++,
          (err: unknown) => noteError(`bus ${n.clientId}`, err),
        );
      }, 1000);
    });
    const sendConnect = () => {
      const connect = {
        verbose: false,
        pedantic: false,
        protocol: 1,
        echo: false,
        headers: true,
        no_responders: true,
        name: n.clientId,
        lang: 'fleet-sim',
        version: '0',
        tls_required: o.natsTls,
        ...(auth(nonce) as { nkey: string; sig: string }),
      };
      sock.write(`CONNECT ${JSON.stringify(connect)}\r\nSUB ${bus.notify} 1\r\nPING\r\n`);
    };
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        const line = buf.slice(0, eol);
        if (line.startsWith('MSG ')) {
          const size = Number(line.slice(line.lastIndexOf(' ') + 1));
          if (buf.length < eol + 2 + size + 2) return;
          buf = buf.slice(eol + 2 + size + 2);
          counters.pollNow++;
          n.pollNows++;
          run(n);
          continue;
        }
        if (line.startsWith('HMSG ')) {
          const size = Number(line.slice(line.lastIndexOf(' ') + 1));
          if (buf.length < eol + 2 + size + 2) return;
          buf = buf.slice(eol + 2 + size + 2);
          counters.pollNow++;
          n.pollNows++;
          run(n);
          continue;
        }
        buf = buf.slice(eol + 2);
        if (line.startsWith('INFO ')) {
          const info = JSON.parse(line.slice(5)) as { nonce: string; tls_required?: boolean };
          if (nonce) continue;
          nonce = info.nonce;
          if (info.tls_required) {
            raw.removeListener('data', onData);
            const t = tls.connect({ socket: raw, ca: o.anchorsPem, servername: 'localhost' });
            t.on('error', fail);
            t.on('data', onData);
            t.once('secureConnect', () => {
              sock = t;
              sendConnect();
            });
          } else sendConnect();
        } else if (line === 'PONG') {
          if (!ready) {
            ready = true;
            n.sock = sock;
            counters.busConnected++;
            resolve();
          }
        } else if (line === 'PING') {
          sock.write('PONG\r\n');
        } else if (line.startsWith('-ERR')) {
          fail(new Error(`${n.clientId}: ${line}`));
        }
      }
    };
    raw.on('data', onData);
  });
}

/** As the agent does, waits for the bus while it is not up yet (the LO may answer before NATS is ready). */
async function connectBusPatiently(n: Node, o: StartOptions, bus: NodeBus): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await connectBus(n, o, bus);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

const started = Date.now();
/** One presence heartbeat, the body the agent's bus client sends (lib/bus/agent-bus.ts). */
function heartbeat(n: Node): void {
  const s = n.sock;
  if (!s || !n.bus) return;
  const body = JSON.stringify({
    at: Date.now(),
    n: ++n.beats,
    agent: 'fleet-sim',
    uptimeS: Math.round((Date.now() - started) / 1000),
  });
  s.write(`PUB ${n.bus.presence} ${Buffer.byteLength(body)}\r\n${body}\r\n`);
  counters.heartbeats++;
}

// ---- commands ----

async function start(o: StartOptions): Promise<void> {
  options = o;
  const byId = new Map(nodes.map((n) => [n.clientId, n]));
  for (const b of o.buses ?? []) {
    const n = byId.get(b.clientId);
    if (n) n.bus = b;
  }
  const active = nodes;
  // The bus first (in batches), as an agent connects it at start; then polls spread over one period.
  if (o.buses) {
    for (let i = 0; i < active.length; i += 200)
      await Promise.all(
        active.slice(i, i + 200).map((n) => (n.bus ? connectBusPatiently(n, o, n.bus) : undefined)),
      );
  }
  const now = Date.now();
  const nextBeat = new Map<Node, number>();
  for (const n of active) {
    n.nextPoll = now + Math.random() * o.rampSeconds * 1000;
    nextBeat.set(n, now + Math.random() * o.heartbeatSeconds * 1000);
  }
  ticker = setInterval(() => {
    const t = Date.now();
    for (const n of active) {
      if (!n.polling && n.nextPoll <= t) {
        n.nextPoll = Number.POSITIVE_INFINITY;
        run(n);
      }
      const beat = nextBeat.get(n)!;
      if (n.bus && beat <= t) {
        heartbeat(n);
        nextBeat.set(n, t + jittered(o.heartbeatSeconds * 1000));
      }
    }
  }, 50);
}

function stats(): SimStats {
  const installs: number[] = [];
  const lastInstallAt: number[] = [];
  for (const n of nodes) {
    n.installedAt.forEach((at, k) => {
      installs[k] = (installs[k] ?? 0) + 1;
      lastInstallAt[k] = Math.max(lastInstallAt[k] ?? 0, at);
    });
  }
  const at = (k: number, q: number) => {
    const xs = nodes.map((n) => n.installedAt[k] ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
    return xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
  };
  const medianInstallAt = installs.map((_, k) => at(k, 0.5));
  const p90InstallAt = installs.map((_, k) => at(k, 0.9));
  const sorted = pollMs.slice().sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  pollMs.length = 0;
  const laggards = nodes
    .slice()
    .sort((a, b) => a.installedAt.length - b.installedAt.length)
    .slice(0, 5)
    .map((n) => ({
      clientId: n.clientId,
      installs: n.installedAt.length,
      lastPollStatus: n.lastPollStatus,
      lastPollAt: n.lastPollAt,
      pollNows: n.pollNows,
      busUp: n.sock !== undefined && !n.sock.destroyed,
      outbox: n.outbox.length,
      etag: n.etag ?? null,
      lastError: n.lastError,
    }));
  return {
    nodes: nodes.length,
    ...counters,
    busDown: nodes.filter((n) => n.bus && (!n.sock || n.sock.destroyed)).length,
    outboxPending: nodes.filter((n) => n.outbox.length > 0).length,
    laggards,
    polledOnce: nodes.filter((n) => n.etag !== undefined).length,
    installs,
    lastInstallAt,
    medianInstallAt,
    p90InstallAt,
    pollLatencyMs: { p50: pct(50), p99: pct(99), max: sorted[sorted.length - 1] ?? 0, n: sorted.length },
    errorSamples: errorSamples.slice(),
    cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000,
    rssMiB: Math.round(process.memoryUsage().rss / 1048576),
  };
}

function stop(): void {
  stopped = true;
  clearInterval(ticker);
  for (const n of nodes) {
    clearTimeout(n.retryTimer);
    n.sock?.destroy();
    n.agent?.destroy();
  }
}

process.on('message', (m: FleetCommand) => {
  void (async () => {
    try {
      switch (m.cmd) {
        case 'issue':
          send({ cmd: 'issued', identities: await issue(m) });
          break;
        case 'start':
          await start(m.options);
          send({ cmd: 'started' });
          break;
        case 'stats':
          send({ cmd: 'stats', stats: stats() });
          break;
        case 'stop':
          stop();
          send({ cmd: 'stopped' });
          process.disconnect?.();
          break;
      }
    } catch (err) {
      send({ cmd: 'error', message: (err as Error).stack ?? String(err) });
    }
  })();
});
process.on('disconnect', () => {
  stop();
  process.exit(0);
});
