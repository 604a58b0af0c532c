/**
 * Real mutual TLS over loopback with node:https: the MMI server's per-request checks, the agent's check of
 * the WFM, and the pinned-CA enrollment call, each against good and bad peers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSvid, createSiteCa, type SiteCa } from '../../core/ca/index.js';
import { pinnedCaClientOptions } from './pinned-ca.js';
import { clientSpiffeId, wfmSpiffeId } from './spiffe-id.js';
import { handCert, newP256Key } from '../../core/ca/testing/certs.js';
import { mtlsClientOptions, mtlsServerOptions, peerChainDer } from './tls-options.js';
import { trustAnchors, verifyPeer } from './verify-peer.js';
import { loadX509 } from '../x509/index.js';

// Tests build certificates by hand: load the library once, up front.
const x509 = await loadX509();

const TD = 'plant7.example';
const WFM = 'lo-1';
const DAY = 86_400_000;
// TLS stacks check validity against the real clock, so this file uses it.
const now = Date.now();

interface Svid {
  certPem: string;
  keyPem: string;
  serialHex?: string;
}

let ca: SiteCa;
let impostorCa: SiteCa; // same name and trust domain, other key
let otherTdCa: SiteCa;
let wfmSvid: Svid;
const servers: (https.Server | tls.Server)[] = [];
const agents: https.Agent[] = [];

async function svid(spiffeId: string, signer: SiteCa = ca, at = now, ttlSeconds = 3600): Promise<Svid> {
  const key = await newP256Key();
  const issued = await issueSvid({ ca: signer, publicKey: key.publicKeyPem, spiffeId, now: at, ttlSeconds });
  return { certPem: issued.certPem, keyPem: key.keyPem, serialHex: issued.serialHex };
}

/** The MMI request handler in miniature: verifyPeer on every request, then the deny list. */
function mmiHandler(
  anchorsPem: string[],
  denied: Set<string>,
  seen: { requests: number; sockets: Set<number> },
) {
  const anchors = trustAnchors(anchorsPem);
  return (req: IncomingMessage, res: ServerResponse) => {
    seen.requests++;
    seen.sockets.add((req.socket as tls.TLSSocket).remotePort ?? -1);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, {
        'content-type': status === 200 ? 'application/json' : 'application/problem+json',
      });
      res.end(JSON.stringify(body));
    };
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/enroll') return send(200, { enrolled: body });
      const r = verifyPeer({
        chainDer: peerChainDer(req.socket as tls.TLSSocket),
        anchors,
        now: Date.now(),
        expect: { trustDomain: TD, wfmId: WFM, role: 'client' },
      });
      if (!r.ok) return send(403, { type: 'not-authorized', code: r.code, detail: r.reason });
      if (denied.has(r.serialHex) || denied.has(r.clientId!))
        return send(403, { type: 'not-authorized', code: 'revoked' });
      send(200, {
        spiffeId: r.spiffeId,
        clientId: r.clientId,
        tls: (req.socket as tls.TLSSocket).getProtocol(),
      });
    });
  };
}

async function listen<T extends https.Server | tls.Server>(server: T): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

function request(port: number, options: https.RequestOptions & { body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const agent = options.agent ?? new https.Agent({ keepAlive: false });
    if (options.agent === undefined) agents.push(agent as https.Agent);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/v1/deployments',
        method: options.body ? 'POST' : 'GET',
        ...options,
        agent,
      },
      (res) => {
        let data = '';
        res.on('data', (d: Buffer) => (data += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: JSON.parse(data) as Record<string, unknown> }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

beforeAll(async () => {
  ca = await createSiteCa({ trustDomain: TD, name: 'Outpost site CA', now: now - DAY });
  impostorCa = await createSiteCa({ trustDomain: TD, name: 'Outpost site CA', now: now - DAY });
  otherTdCa = await createSiteCa({ trustDomain: 'other.example', name: 'Outpost site CA', now: now - DAY });
  wfmSvid = await svid(wfmSpiffeId(TD, WFM));
});

afterAll(async () => {
  for (const a of agents) a.destroy();
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          if ('closeAllConnections' in s) s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

describe('MMI server (client certificate required)', () => {
  let port: number;
  const denied = new Set<string>();
  const seen = { requests: 0, sockets: new Set<number>() };
  // A site that also trusts another trust domain's CA: the handshake passes, the SPIFFE check must not.
  const anchors = () => [ca.certPem, otherTdCa.certPem];

  beforeAll(async () => {
    port = await listen(
      https.createServer(
        mtlsServerOptions({
          certPem: wfmSvid.certPem,
          keyPem: wfmSvid.keyPem,
          chainPem: ca.certPem,
          anchorsPem: anchors(),
        }),
        mmiHandler(anchors(), denied, seen),
      ),
    );
  });

  const client = (s: Svid) => ({
    cert: s.certPem,
    key: s.keyPem,
    ca: [ca.certPem],
    servername: undefined,
    checkServerIdentity: () => undefined,
  });

  it('recovers the SPIFFE ID of a good client, over TLS 1.3', async () => {
    const node = await svid(clientSpiffeId(TD, WFM, 'node-7'));
    const r = await request(port, client(node));
    expect(r).toEqual({
      status: 200,
      body: { spiffeId: clientSpiffeId(TD, WFM, 'node-7'), clientId: 'node-7', tls: 'TLSv1.3' },
    });
  });

  it('refuses the handshake for a certificate from another CA, for no certificate, and for an expired one', async () => {
    const before = seen.requests;
    const impostor = await svid(clientSpiffeId(TD, WFM, 'node-7'), impostorCa);
    await expect(request(port, client(impostor))).rejects.toThrow();
    await expect(request(port, { ca: [ca.certPem], checkServerIdentity: () => undefined })).rejects.toThrow();
    const expired = await svid(clientSpiffeId(TD, WFM, 'node-7'), ca, now - 10 * DAY, 86_400);
    await expect(request(port, client(expired))).rejects.toThrow();
    expect(seen.requests).toBe(before); // none of them reached the application
  });

  it.each([
    ['wrong-trust-domain', () => svid(clientSpiffeId('other.example', WFM, 'node-7'), otherTdCa)],
    ['wrong-form', () => svid(`spiffe://${TD}/margo/wfm/${WFM}/other/y`)],
    ['wrong-form', () => svid(clientSpiffeId(TD, 'lo-2', 'node-7'))],
    ['wrong-form', () => svid(wfmSpiffeId(TD, WFM))],
    [
      'multiple-uri-sans',
      () =>
        handCert({
          issuer: ca,
          uris: [clientSpiffeId(TD, WFM, 'a'), clientSpiffeId(TD, WFM, 'b')],
          isCa: false,
          keyUsage: x509.KeyUsageFlags.digitalSignature,
          notBefore: now - DAY,
          notAfter: now + DAY,
        }),
    ],
  ])('answers 403 %s after the handshake', async (code, make) => {
    const r = await request(port, client(await make()));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ type: 'not-authorized', code });
  });

  it('revoking a node takes effect on its next request, even on the same connection', async () => {
    const node = await svid(clientSpiffeId(TD, WFM, 'node-9'));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ...client(node) });
    agents.push(agent);
    seen.sockets.clear();
    expect((await request(port, { agent })).status).toBe(200);
    denied.add(node.serialHex!);
    const second = await request(port, { agent });
    expect(second).toEqual({ status: 403, body: { type: 'not-authorized', code: 'revoked' } });
    expect(seen.sockets.size).toBe(1); // one TLS connection carried both requests
  });

  it('refuses TLS versions below 1.2', async () => {
    const node = await svid(clientSpiffeId(TD, WFM, 'node-7'));
    await expect(
      request(port, { ...client(node), maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }),
    ).rejects.toThrow();
  });
});

describe('MMI server with optional client certificates (enrollment on the same port)', () => {
  let port: number;
  const seen = { requests: 0, sockets: new Set<number>() };

  beforeAll(async () => {
    port = await listen(
      https.createServer(
        mtlsServerOptions({
          certPem: wfmSvid.certPem,
          keyPem: wfmSvid.keyPem,
          chainPem: ca.certPem,
          anchorsPem: [ca.certPem],
          clientCert: 'optional',
        }),
        mmiHandler([ca.certPem], new Set(), seen),
      ),
    );
  });

  const client = (s: Svid) => ({
    cert: s.certPem,
    key: s.keyPem,
    ca: [ca.certPem],
    checkServerIdentity: () => undefined,
  });

  it.each([
    ['no-certificate', async () => undefined],
    ['wrong-ca', () => svid(clientSpiffeId(TD, WFM, 'node-7'), impostorCa)],
    ['expired', () => svid(clientSpiffeId(TD, WFM, 'node-7'), ca, now - 10 * DAY, 86_400)],
    [
      'ca-leaf',
      () =>
        handCert({
          issuer: ca,
          uris: [clientSpiffeId(TD, WFM, 'node-7')],
          isCa: true,
          keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign,
          notBefore: now - DAY,
          notAfter: now + DAY,
        }),
    ],
  ])('every MMI request without a valid SVID gets 403 %s', async (code, make) => {
    const s = await make();
    const r = await request(port, s ? client(s) : { ca: [ca.certPem], checkServerIdentity: () => undefined });
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code });
  });

  it('a good client still passes', async () => {
    const r = await request(port, client(await svid(clientSpiffeId(TD, WFM, 'n1'))));
    expect(r.body).toMatchObject({ clientId: 'n1' });
  });
});

describe('agent side: recognising the WFM', () => {
  let node: Svid;
  beforeAll(async () => {
    node = await svid(clientSpiffeId(TD, WFM, 'node-7'));
  });

  async function serverWith(
    server: Svid,
    extra: { chainPem?: string } = {},
  ): Promise<{ port: number; seen: { requests: number } }> {
    const seen = { requests: 0, sockets: new Set<number>() };
    const port = await listen(
      https.createServer(
        mtlsServerOptions({
          certPem: server.certPem,
          keyPem: server.keyPem,
          anchorsPem: [ca.certPem],
          clientCert: 'optional',
          ...extra,
        }),
        mmiHandler([ca.certPem], new Set(), seen),
      ),
    );
    return { port, seen };
  }

  it('talks to its own WFM (expected WFM derived from its own SVID)', async () => {
    const { port } = await serverWith(wfmSvid);
    const results: string[] = [];
    const opts = mtlsClientOptions({
      certPem: node.certPem,
      keyPem: node.keyPem,
      anchorsPem: [ca.certPem],
      onVerify: (r) => results.push(r.ok ? 'ok' : r.code),
    });
    const r = await request(port, opts);
    expect(r.body).toMatchObject({ clientId: 'node-7' });
    expect(results).toEqual(['ok']);
  });

  it.each([
    ['another WFM', () => svid(wfmSpiffeId(TD, 'lo-2'))],
    ['a client SVID posing as the WFM', () => svid(clientSpiffeId(TD, WFM, 'evil'))],
    ['a WFM path with extra segments', () => svid(`spiffe://${TD}/margo/wfm/${WFM}/x`)],
  ])('refuses %s before sending anything', async (_name, make) => {
    const { port, seen } = await serverWith(await make());
    const opts = mtlsClientOptions({ certPem: node.certPem, keyPem: node.keyPem, anchorsPem: [ca.certPem] });
    await expect(request(port, { ...opts, body: 'status report' })).rejects.toMatchObject({
      code: 'identity/peer-rejected',
      data: { code: 'wrong-form' },
    });
    expect(seen.requests).toBe(0);
  });

  it('the same options work as an undici dispatcher', async () => {
    const good = await serverWith(wfmSvid);
    const bad = await serverWith(await svid(wfmSpiffeId(TD, 'lo-2')));
    const dispatcher = new UndiciAgent({
      connect: mtlsClientOptions({ certPem: node.certPem, keyPem: node.keyPem, anchorsPem: [ca.certPem] }),
    });
    try {
      const res = await undiciRequest(`https://127.0.0.1:${good.port}/api/v1/deployments`, { dispatcher });
      expect(await res.body.json()).toMatchObject({ clientId: 'node-7' });
      await expect(
        undiciRequest(`https://127.0.0.1:${bad.port}/api/v1/deployments`, { dispatcher }),
      ).rejects.toMatchObject({
        code: 'identity/peer-rejected',
      });
      expect(bad.seen.requests).toBe(0);
    } finally {
      await dispatcher.close();
    }
  });

  it('refuses a WFM certificate from another CA', async () => {
    const { port, seen } = await serverWith(await svid(wfmSpiffeId(TD, WFM), impostorCa));
    const opts = mtlsClientOptions({ certPem: node.certPem, keyPem: node.keyPem, anchorsPem: [ca.certPem] });
    await expect(request(port, opts)).rejects.toThrow();
    expect(seen.requests).toBe(0);
  });

  it('refuses an expected WFM that disagrees with its own SVID', () => {
    expect(() =>
      mtlsClientOptions({
        certPem: node.certPem,
        keyPem: node.keyPem,
        anchorsPem: [ca.certPem],
        expectWfm: { trustDomain: TD, wfmId: 'lo-2' },
      }),
    ).toThrow(/belongs to WFM lo-1/);
  });
});

describe('enrollment with a pinned CA fingerprint', () => {
  it('reaches the genuine site and learns its CA', async () => {
    const seen = { requests: 0, sockets: new Set<number>() };
    const port = await listen(
      https.createServer(
        mtlsServerOptions({
          certPem: wfmSvid.certPem,
          keyPem: wfmSvid.keyPem,
          chainPem: ca.certPem,
          anchorsPem: [ca.certPem],
          clientCert: 'optional',
        }),
        mmiHandler([ca.certPem], new Set(), seen),
      ),
    );
    const verified: unknown[] = [];
    const opts = pinnedCaClientOptions({ fingerprint: ca.fingerprint, onVerified: (v) => verified.push(v) });
    const r = await request(port, { ...opts, path: '/enroll', body: 'token+csr' });
    expect(r).toEqual({ status: 200, body: { enrolled: 'token+csr' } });
    expect(verified).toEqual([
      { ok: true, caPem: ca.certPem, spiffeId: wfmSpiffeId(TD, WFM), trustDomain: TD, wfmId: WFM },
    ]);
  });

  /** A raw TLS server that records every application byte it receives. */
  async function rogue(server: Svid, chainPem?: string): Promise<{ port: number; received: () => number }> {
    let bytes = 0;
    const s = tls.createServer({ cert: server.certPem + (chainPem ?? ''), key: server.keyPem }, (socket) => {
      socket.on('data', (d: Buffer) => {
        bytes += d.length;
        socket.end(
          'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}',
        );
      });
      socket.on('error', () => undefined);
    });
    const port = await listen(s);
    return { port, received: () => bytes };
  }

  it('the recording server does see the request when the pin matches (control)', async () => {
    const r = await rogue(wfmSvid, ca.certPem);
    const reply = await request(r.port, {
      ...pinnedCaClientOptions({ fingerprint: ca.fingerprint }),
      path: '/enroll',
      body: 'x',
    });
    expect(reply.status).toBe(200);
    expect(r.received()).toBeGreaterThan(0);
  });

  it('refuses a server of another CA with the same names, and sends it nothing', async () => {
    const impostorWfm = await svid(wfmSpiffeId(TD, WFM), impostorCa);
    const r = await rogue(impostorWfm, impostorCa.certPem);
    const opts = pinnedCaClientOptions({ fingerprint: ca.fingerprint });
    await expect(request(r.port, { ...opts, path: '/enroll', body: 'secret-token' })).rejects.toMatchObject({
      code: 'identity/pin-mismatch',
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(r.received()).toBe(0);
  });

  it('refuses a server that does not present the pinned CA, or whose leaf is not a WFM SVID', async () => {
    const noChain = await rogue(wfmSvid);
    await expect(
      request(noChain.port, {
        ...pinnedCaClientOptions({ fingerprint: ca.fingerprint }),
        path: '/enroll',
        body: 'x',
      }),
    ).rejects.toMatchObject({
      code: 'identity/pin-mismatch',
      message: expect.stringContaining('did not present a CA'),
    });

    const notWfm = await rogue(await svid(clientSpiffeId(TD, WFM, 'n')), ca.certPem);
    await expect(
      request(notWfm.port, {
        ...pinnedCaClientOptions({ fingerprint: ca.fingerprint }),
        path: '/enroll',
        body: 'x',
      }),
    ).rejects.toMatchObject({ code: 'identity/pin-mismatch', data: { code: 'wrong-form' } });
    expect(noChain.received() + notWfm.received()).toBe(0);
  });

  it('refuses a malformed pin up front', () => {
    expect(() => pinnedCaClientOptions({ fingerprint: 'sha256:1234' })).toThrow(
      expect.objectContaining({ code: 'identity/invalid-token' }),
    );
  });
});
