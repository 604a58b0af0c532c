import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { mtlsClientOptions } from '../../lib/identity/index.js';
import { MANIFEST_MEDIA_TYPE } from '../../lib/model/index.js';

/**
 * The agent's poll as a benchmark client: `GET /api/v1/deployments` with `If-None-Match` over mutual TLS
 * with the node's SVID, one request in flight. How connections are made is the variable:
 * - `keep-alive`: one connection reused for every poll;
 * - `full-handshake`: a new connection per poll, no session offered (a full mutual-TLS handshake);
 * - `resumed`: a new connection per poll, resuming the previous TLS session (a session ticket).
 */

export type ConnectionMode = 'keep-alive' | 'full-handshake' | 'resumed';

export interface PollTarget {
  url: string;
  certPem: string;
  keyPem: string;
  anchorsPem: string[];
}

export function pollAgent(t: PollTarget, mode: ConnectionMode): https.Agent {
  const tls = mtlsClientOptions({ certPem: t.certPem, keyPem: t.keyPem, anchorsPem: t.anchorsPem });
  return new https.Agent({
    ...tls,
    keepAlive: mode === 'keep-alive',
    maxSockets: 1,
    maxCachedSessions: mode === 'resumed' ? 4 : 0,
  });
}

export interface PollReply {
  status: number;
  etag: string | undefined;
  reused: boolean;
  /** The TLS session was resumed (no certificates exchanged). */
  sessionReused: boolean;
}

export function poll(t: PollTarget, agent: https.Agent, etag: string | undefined): Promise<PollReply> {
  const u = new URL(t.url.replace(/\/+$/, '') + '/api/v1/deployments');
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        agent,
        headers: { accept: MANIFEST_MEDIA_TYPE, ...(etag ? { 'if-none-match': etag } : {}) },
      },
      (res) => {
        const sessionReused = (res.socket as TLSSocket).isSessionReused();
        res.resume();
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            etag: typeof res.headers.etag === 'string' ? res.headers.etag : undefined,
            reused: (req as unknown as { reusedSocket: boolean }).reusedSocket,
            sessionReused,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Polls back to back for `ms`; returns how many 304s came back (anything else is an error). */
export async function pollFor(
  t: PollTarget,
  mode: ConnectionMode,
  etag: string,
  ms: number,
): Promise<{ polls: number; seconds: number; resumed: number }> {
  const agent = pollAgent(t, mode);
  let resumed = 0;
  try {
    // Warm up: the first connection (and session) is not counted.
    await poll(t, agent, etag);
    const started = performance.now();
    let polls = 0;
    while (performance.now() - started < ms) {
      const r = await poll(t, agent, etag);
      if (r.status !== 304) throw new Error(`poll answered ${r.status}, not 304`);
      if (r.sessionReused) resumed++;
      polls++;
    }
    return { polls, seconds: (performance.now() - started) / 1000, resumed };
  } finally {
    agent.destroy();
  }
}
