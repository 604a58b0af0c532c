import { constants as cryptoConstants, createHash, randomBytes, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import {
  DEFAULT_CLOCK_SKEW_SECONDS,
  isValidSegment,
  isValidTrustDomain,
  mtlsServerOptions,
  peerChainDer,
  trustAnchors,
  verifyPeer,
  wellKnownMargo,
  wfmSpiffeId,
  type TrustAnchors,
  type VerifyPeerResult,
} from '../../lib/identity/index.js';
import {
  canonicalJson,
  isDigest,
  DEPLOYMENT_ID,
  DEVICE_ID,
  MANIFEST_MEDIA_TYPE,
  BUNDLE_MEDIA_TYPE,
} from '../../lib/model/index.js';
import { sha256Digest } from '../../lib/margo/index.js';
import { parseDeploymentStatus, parseDeviceCapabilities } from '../../lib/margo-validation/index.js';
import {
  type EnrollRequest,
  type EnrollRequestFiling,
  STATUS_EVENT_AT_HEADER,
  STATUS_SENT_AT_HEADER,
  PROBLEM_CONTENT_TYPE,
  BASE_PATH,
  matchRoute,
  TRUST_BUNDLE_PATH,
  type RouteMatch,
} from '../../lib/mmi/index.js';
import type { MmiBackend, MmiClient } from './backend.js';
import { createFailureLimiter } from './failure-limiter.js';
import { acceptsGzip, acceptsMediaType, ifNoneMatchMatches, strongEtag } from './negotiation.js';
import { problem, problemFromError, type ProblemResponse } from './problems.js';
import { HttpProblem, readJsonBody } from './request.js';
import { sessionStartedAt } from './tls-session.js';

/**
 * The Margo Management Interface server (WFM side, rc.3) over mutual TLS: routes, SPIFFE checks and the
 * accepted-client policy on every request, content negotiation, conditional requests, problem+json. State
 * and policy live behind MmiBackend (core/mmi/backend.ts). Decisions: docs/adr/0240-0243.
 *
 * One listener serves everything. Client certificates are optional at the TLS layer so that discovery, the
 * trust bundle and enrollment work without one; every other request must carry a client SVID that passes
 * verifyPeer (chain, validity, exact SPIFFE client form of this WFM) and backend.authorize, else 403
 * not-authorized. A client that presents a certificate OpenSSL cannot verify (another CA, expired) has its
 * connection closed right after the handshake (`untrustedCertificate: 'refuse-handshake'`, the default) or
 * gets 403 for every protected request (`'forbid'`). ADR 0240 lists which case gives which result.
 */

export const YAML_MEDIA_TYPE = 'application/yaml';
export const IMMUTABLE_CACHE_CONTROL = 'private, max-age=31536000, immutable';
export const MANIFEST_CACHE_CONTROL = 'private';

export interface MmiTlsMaterial {
  /** The WFM's server SVID (`spiffe://<td>/margo/wfm/<wfm-id>`), leaf first. */
  certPem: string;
  keyPem: string;
  /** Sent after the leaf: intermediates and the site CA itself (pinned enrollment needs to see it, ADR 0142). */
  chainPem?: string;
  /** Trust anchors for client SVIDs (the trust bundle). */
  anchorsPem: readonly string[];
}

export interface CreateMmiServerInput {
  backend: MmiBackend;
  tls: MmiTlsMaterial;
  trustDomain: string;
  wfmId: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Prefix of every MMI route, e.g. `/v1alpha2/margo`; default '' (routes are `/api/v1/...`). */
  basePath?: string;
  logger: Logger;
  clock: Clock;
  /** Limit of JSON request bodies (capabilities, status); default 256 KiB. */
  maxBodyBytes?: number;
  /** Limit of the enrollment and renewal request bodies; default 64 KiB. */
  maxEnrollBodyBytes?: number;
  /** Keep-alive connections older than this (from the handshake) are closed after their next response; default 10 min. */
  maxConnectionAgeMs?: number;
  /**
   * How long an idle connection is kept open for the client's next request; default 150 s, longer than an
   * agent's poll period (30 s by default), so a polling node keeps its connection (ADR 0540).
   */
  keepAliveTimeoutMs?: number;
  /**
   * TLS session tickets, so a reconnecting client resumes instead of a full handshake (default true). A
   * session resumes only within `maxConnectionAgeMs` of its full handshake, and a resumed connection's age
   * counts from that handshake (Margo: resumption does not extend a session).
   */
  sessionTickets?: boolean;
  /** What happens to a presented client certificate that fails OpenSSL's chain check (ADR 0240). */
  untrustedCertificate?: 'refuse-handshake' | 'forbid';
  /**
   * Failed enrollment attempts allowed per window before 429: `max` per token and remote address (default
   * 10 per minute), and `perAddress` for all tokens from one address together (default 10 times `max`),
   * so one node retrying a bad token does not lock out the other nodes behind the same address, and
   * guessing tokens is still bounded.
   */
  enrollFailures?: { max: number; windowMs: number; perAddress?: number };
  /** Origin advertised in `/.well-known/margo` (e.g. `https://lo.plant7.example:8443`); default this listener's. */
  publicUrl?: string;
  /** Clock skew allowed on SVID validity; default 60 s. */
  clockSkewSeconds?: number;
}

export interface MmiServer {
  /** Base URL of the MMI: `https://<host>:<port><basePath>`; the API is at `${url}/api/v1/...`. */
  url: string;
  /** `https://<host>:<port>` (the well-known documents are at its root). */
  origin: string;
  port: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
  /** Replaces the server SVID, chain and client anchors without dropping the listener; new handshakes use them at once, and every later request is verified against the new anchors. */
  setTls(tls: MmiTlsMaterial): void;
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body?: Buffer;
  closeConnection?: boolean;
}

type Verified = Extract<VerifyPeerResult, { ok: true }>;

/** verifyPeer's verdict on a presented leaf, kept per certificate (ADR 0540). */
interface ChainVerdict {
  /** The TLS material it was checked against (replacing it drops every verdict). */
  tls: TlsState;
  result: Verified;
}

interface Connection {
  openedAt: number;
  id: number;
  /** The verdict on this connection's client certificate (a connection's certificate cannot change). */
  verified?: ChainVerdict;
}

const gzip = promisify(gzipCb);
/** Connections waiting to be accepted (the kernel caps it at net.core.somaxconn, 4096 by default). */
const LISTEN_BACKLOG = 4096;
/** Gzipped deployment YAMLs kept by digest (content-addressed: an update to thousands gzips once). */
const MAX_GZIPPED = 32;
const DEFAULT_MAX_BODY = 256 * 1024;
const DEFAULT_MAX_ENROLL_BODY = 64 * 1024;
const DEFAULT_MAX_CONNECTION_AGE_MS = 10 * 60_000;
const DEFAULT_KEEP_ALIVE_MS = 150_000;
/** Verdicts kept (one per client certificate seen); the oldest go first beyond this. */
const MAX_CHAIN_VERDICTS = 100_000;
const MAX_TOKEN_CHARS = 8192;
/** A request target that URL parsing would leave as it is (no dot segments, escapes, query or fragment). */
const PLAIN_PATH = /^\/(?!\/)[A-Za-z0-9_~:\-/]*$/;
const MAX_CSR_CHARS = 16 * 1024;

function configError(message: string): OutpostError {
  return new OutpostError('invalid-config', `MMI server: ${message}`);
}

function uriSansOf(certPem: string): string[] {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (cause) {
    throw new OutpostError('invalid-config', 'MMI server: tls.certPem is not a certificate', { cause });
  }
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
}

interface TlsState {
  anchors: TrustAnchors;
  context: {
    cert: string;
    key: string;
    ca: string[];
    minVersion: 'TLSv1.2' | 'TLSv1.3';
    secureOptions: number;
  };
}

function buildTls(tls: MmiTlsMaterial, expectedId: string, tickets: boolean): TlsState {
  const sans = uriSansOf(tls.certPem);
  if (sans.length !== 1 || sans[0] !== expectedId) {
    throw configError(
      `the server SVID must carry exactly the URI SAN ${expectedId} (clients refuse anything else), not ${JSON.stringify(sans)}`,
    );
  }
  const options = mtlsServerOptions({
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    chainPem: tls.chainPem,
    anchorsPem: tls.anchorsPem,
    clientCert: 'optional',
  });
  return {
    anchors: trustAnchors(tls.anchorsPem),
    context: {
      cert: options.cert,
      key: options.key,
      ca: options.ca,
      minVersion: options.minVersion as 'TLSv1.2',
      // Session tickets let a reconnecting node skip the certificate exchange (ADR 0540): the certificate
      // is still checked on every request (validity, the accepted-client policy, the deny list), a resumed
      // connection starts a new age, and replacing the TLS material invalidates every ticket. No
      // renegotiation: a connection's client certificate never changes.
      secureOptions:
        cryptoConstants.SSL_OP_NO_RENEGOTIATION | (tickets ? 0 : cryptoConstants.SSL_OP_NO_TICKET),
    },
  };
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `::ffff:10.0.0.5` → `10.0.0.5` (a dual-stack listener reports IPv4 peers that way). */
function normaliseAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export async function createMmiServer(input: CreateMmiServerInput): Promise<MmiServer> {
  const { backend, clock, trustDomain, wfmId } = input;
  if (!isValidTrustDomain(trustDomain)) throw configError(`"${trustDomain}" is not a trust domain`);
  if (!isValidSegment(wfmId)) throw configError(`"${wfmId}" is not a valid wfm-id`);
  const basePath = input.basePath ?? '';
  if (!BASE_PATH.test(basePath)) {
    throw configError(`basePath "${basePath}" must be '' or like /v1alpha2/margo (no trailing slash)`);
  }
  const ownId = wfmSpiffeId(trustDomain, wfmId);
  const host = input.host ?? '127.0.0.1';
  const maxBody = input.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const maxEnrollBody = input.maxEnrollBodyBytes ?? DEFAULT_MAX_ENROLL_BODY;
  const maxAge = input.maxConnectionAgeMs ?? DEFAULT_MAX_CONNECTION_AGE_MS;
  const tickets = input.sessionTickets ?? true;
  const skewMs = (input.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  const untrusted = input.untrustedCertificate ?? 'refuse-handshake';
  const log = input.logger.child({ component: 'mmi' });
  const enrollWindowMs = input.enrollFailures?.windowMs ?? 60_000;
  const enrollMax = input.enrollFailures?.max ?? 10;
  const enrollLimiter = createFailureLimiter({
    max: enrollMax,
    windowMs: enrollWindowMs,
    now: () => clock.monotonic(),
  });
  const enrollAddressLimiter = createFailureLimiter({
    max: input.enrollFailures?.perAddress ?? enrollMax * 10,
    windowMs: enrollWindowMs,
    now: () => clock.monotonic(),
  });

  let tls = buildTls(input.tls, ownId, tickets);
  const connections = new WeakMap<TLSSocket, Connection>();
  /** Verdicts by the SHA-256 fingerprint of the presented leaf, across connections. */
  const verdicts = new Map<string, ChainVerdict>();
  let connectionSeq = 0;
  /** digest -> gzipped bytes of that YAML, the most recent MAX_GZIPPED. */
  const gzipped = new Map<string, Promise<Buffer>>();
  const gzipOf = (digest: string, bytes: Buffer): Promise<Buffer> => {
    let z = gzipped.get(digest);
    if (!z) {
      z = gzip(bytes);
      if (gzipped.size >= MAX_GZIPPED) gzipped.delete(gzipped.keys().next().value!);
      gzipped.set(digest, z);
      z.catch(() => gzipped.delete(digest));
    }
    return z;
  };

  const server = https.createServer(
    {
      ...tls.context,
      requestCert: true,
      rejectUnauthorized: false,
      // OpenSSL keeps a session's time across resumptions: no ticket resumes a session older than the cap.
      ...(tickets ? { sessionTimeout: Math.max(1, Math.floor(maxAge / 1000)) } : {}),
    },
    (req, res) => {
      handle(req, res).catch((err: unknown) => {
        log.error({ err }, 'MMI request handler failed');
        res.destroy();
      });
    },
  );
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = input.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_MS;

  server.on('secureConnection', (socket: TLSSocket) => {
    // A resumed connection is as old as the full handshake of its session.
    const fullHandshakeAt = socket.isSessionReused() ? sessionStartedAt(socket.getSession()) : undefined;
    const age = fullHandshakeAt === undefined ? 0 : Math.max(0, Date.now() - fullHandshakeAt);
    connections.set(socket, { openedAt: clock.monotonic() - age, id: ++connectionSeq });
    if (untrusted !== 'refuse-handshake' || socket.authorized) return;
    const peer = socket.getPeerCertificate();
    if (peer === null || peer.raw === undefined) return; // no certificate: only public routes will work
    log.warn(
      {
        event: 'handshake-refused',
        reason: String(socket.authorizationError),
        claimedId: peer.subjectaltname,
        remote: socket.remoteAddress,
      },
      'client certificate failed the TLS chain check; connection closed',
    );
    socket.destroy();
  });
  server.on('tlsClientError', (err, socket) => {
    log.warn(
      { event: 'tls-error', err: err.message, remote: socket.remoteAddress },
      'TLS handshake with a client failed',
    );
  });

  let origin = '';

  function advertisedOrigin(req: IncomingMessage): string {
    if (input.publicUrl !== undefined) return input.publicUrl.replace(/\/+$/, '');
    if (isWildcardHost(host)) {
      const h = req.headers.host;
      if (h !== undefined && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(h)) {
        return `https://${h}`;
      }
    }
    return origin;
  }

  // ---- authentication ------------------------------------------------------------------------------

  /**
   * verifyPeer on the presented chain, once per client certificate: the verdict is kept by the SHA-256
   * fingerprint of the leaf (across connections, so a reconnecting node is not checked again) and on the
   * connection, and used while `now` is inside the validity of every certificate on the path and the TLS
   * material is the one it was checked against. No certificate is parsed again for a known leaf. The
   * accepted-client policy is applied on every request regardless (ADR 0540).
   */
  function verifyConnection(socket: TLSSocket): VerifyPeerResult {
    const conn = connections.get(socket);
    const now = clock.now();
    let verdict = conn?.verified;
    if (verdict === undefined || verdict.tls !== tls) {
      const peer = socket.getPeerX509Certificate();
      const fingerprint = peer?.fingerprint256;
      verdict = fingerprint === undefined ? undefined : verdicts.get(fingerprint);
      if (verdict !== undefined && verdict.tls !== tls) verdict = undefined;
      if (verdict === undefined) {
        const result = verifyPeer({
          chainDer: peer === undefined ? [] : peerChainDer(socket),
          anchors: tls.anchors,
          now,
          clockSkewSeconds: input.clockSkewSeconds,
          expect: { trustDomain, wfmId, role: 'client' },
        });
        if (!result.ok || fingerprint === undefined) return result;
        verdict = { tls, result };
        if (verdicts.size >= MAX_CHAIN_VERDICTS) verdicts.delete(verdicts.keys().next().value!);
        verdicts.set(fingerprint, verdict);
      }
      if (conn !== undefined) conn.verified = verdict;
    }
    const { pathValidity } = verdict.result;
    if (now - skewMs <= pathValidity.notAfter && now + skewMs >= pathValidity.notBefore)
      return verdict.result;
    // Outside the window: the full check says why (expired, not yet valid), and the verdict goes.
    if (conn !== undefined) conn.verified = undefined;
    const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
    if (fingerprint !== undefined) verdicts.delete(fingerprint);
    return verifyPeer({
      chainDer: peerChainDer(socket),
      anchors: tls.anchors,
      now,
      clockSkewSeconds: input.clockSkewSeconds,
      expect: { trustDomain, wfmId, role: 'client' },
    });
  }

  function authenticate(req: IncomingMessage, instance: string): MmiClient {
    const socket = req.socket as TLSSocket;
    const result = verifyConnection(socket);
    if (!result.ok) {
      log.warn(
        {
          event: 'peer-rejected',
          code: result.code,
          reason: result.reason,
          spiffeId: result.spiffeId,
          serialHex: result.serialHex,
          remote: socket.remoteAddress,
          path: instance,
        },
        'client certificate rejected',
      );
      throw new HttpProblem(
        problem({
          status: 403,
          name: 'not-authorized',
          code: 'margo/not-authorized',
          detail: `client certificate rejected (${result.code}): ${result.reason}`,
          instance,
          closeConnection: true,
        }),
      );
    }
    const client: MmiClient = {
      clientId: result.clientId!,
      spiffeId: result.spiffeId,
      serialHex: result.serialHex,
    };
    const decision = backend.authorize(client);
    if (!decision.ok) {
      log.warn(
        {
          event: 'client-denied',
          spiffeId: client.spiffeId,
          serialHex: client.serialHex,
          reason: decision.reason,
          remote: socket.remoteAddress,
          path: instance,
        },
        'client denied by the accepted-client policy',
      );
      throw new HttpProblem(
        problem({
          status: 403,
          name: 'not-authorized',
          code: 'margo/not-authorized',
          detail: `${client.spiffeId} is not authorized: ${decision.reason}`,
          instance,
          closeConnection: true,
        }),
      );
    }
    backend.seen(client, clock.now());
    return client;
  }

  // ---- handlers -----------------------------------------------------------------------------------

  function notFound(
    name: 'deployment-not-found' | 'invalid-bundle' | 'device-not-found',
    detail: string,
    instance: string,
  ): HttpProblem {
    return new HttpProblem(problem({ status: 404, name, code: `margo/${name}`, detail, instance }));
  }

  function conditional(
    req: IncomingMessage,
    digest: string,
    headers: Record<string, string>,
    body: Buffer,
  ): Reply {
    if (ifNoneMatchMatches(req.headers['if-none-match'], digest)) return { status: 304, headers };
    return { status: 200, headers, body };
  }

  function manifest(req: IncomingMessage, client: MmiClient, instance: string): Reply {
    const accept = req.headers.accept;
    if (!acceptsMediaType(accept, MANIFEST_MEDIA_TYPE)) {
      throw new HttpProblem(
        problem({
          status: 406,
          name: 'server-cannot-generate-response',
          code: 'margo/server-cannot-generate-response',
          detail: `the state manifest is only available as ${MANIFEST_MEDIA_TYPE}; Accept was ${JSON.stringify((accept ?? '').slice(0, 200))}`,
          instance,
          headers: { vary: 'Accept' },
        }),
      );
    }
    const headers = {
      'content-type': MANIFEST_MEDIA_TYPE,
      etag: '',
      'cache-control': MANIFEST_CACHE_CONTROL,
      vary: 'Accept',
    };
    // The usual poll: the node has the current manifest. Answered from the backend's current ETag, without
    // the manifest's bytes (ADR 0540).
    const current = backend.manifestTag?.(client);
    if (current !== undefined && ifNoneMatchMatches(req.headers['if-none-match'], current.digest)) {
      headers.etag = strongEtag(current.digest);
      return { status: 304, headers };
    }
    const stored = backend.manifest(client);
    const digest = sha256Digest(stored.bytes);
    if (digest !== stored.digest) {
      log.error(
        { spiffeId: client.spiffeId, stored: stored.digest, actual: digest },
        'backend manifest digest does not match its bytes; serving the digest of the bytes',
      );
    }
    headers.etag = strongEtag(digest);
    return conditional(req, digest, headers, stored.bytes);
  }

  async function deploymentYaml(
    req: IncomingMessage,
    client: MmiClient,
    [deploymentId, digest]: string[],
    instance: string,
  ): Promise<Reply> {
    if (!DEPLOYMENT_ID.test(deploymentId!)) {
      throw notFound('deployment-not-found', 'malformed deployment id in the path', instance);
    }
    if (!isDigest(digest)) {
      throw notFound(
        'deployment-not-found',
        'malformed digest in the path: expected sha256: followed by 64 lowercase hex digits',
        instance,
      );
    }
    const bytes = backend.deploymentYaml(client, deploymentId!, digest);
    if (bytes === undefined) {
      throw notFound(
        'deployment-not-found',
        `no deployment ${deploymentId} with digest ${digest} for this client`,
        instance,
      );
    }
    if (sha256Digest(bytes) !== digest) {
      log.error(
        { spiffeId: client.spiffeId, deploymentId, digest },
        'backend returned deployment YAML whose digest differs from the requested one; answering 404',
      );
      throw notFound('deployment-not-found', `no content with digest ${digest} is available`, instance);
    }
    const headers: Record<string, string> = {
      'content-type': YAML_MEDIA_TYPE,
      etag: strongEtag(digest),
      'cache-control': IMMUTABLE_CACHE_CONTROL,
      vary: 'Accept-Encoding',
    };
    if (ifNoneMatchMatches(req.headers['if-none-match'], digest)) return { status: 304, headers };
    if (acceptsGzip(req.headers['accept-encoding'])) {
      return {
        status: 200,
        headers: { ...headers, 'content-encoding': 'gzip' },
        body: await gzipOf(digest!, bytes),
      };
    }
    return { status: 200, headers, body: bytes };
  }

  function bundle(req: IncomingMessage, client: MmiClient, [digest]: string[], instance: string): Reply {
    if (!isDigest(digest)) {
      throw notFound(
        'invalid-bundle',
        'malformed digest in the path: expected sha256: followed by 64 lowercase hex digits',
        instance,
      );
    }
    const bytes = backend.bundle(client, digest);
    if (bytes === undefined)
      throw notFound('invalid-bundle', `no bundle ${digest} for this client`, instance);
    if (sha256Digest(bytes) !== digest) {
      log.error(
        { spiffeId: client.spiffeId, digest },
        'backend returned bundle bytes whose digest differs from the requested one; answering 404',
      );
      throw notFound('invalid-bundle', `no content with digest ${digest} is available`, instance);
    }
    return conditional(
      req,
      digest,
      {
        'content-type': BUNDLE_MEDIA_TYPE,
        etag: strongEtag(digest),
        'cache-control': IMMUTABLE_CACHE_CONTROL,
      },
      bytes,
    );
  }

  async function putCapabilities(
    req: IncomingMessage,
    client: MmiClient,
    [deviceId]: string[],
    instance: string,
  ): Promise<Reply> {
    const body = await readJsonBody(req, maxBody, instance);
    const capabilities = parseDeviceCapabilities(body, { pathDeviceId: deviceId });
    const outcome = backend.putCapabilities(client, deviceId!, capabilities);
    return { status: outcome === 'created' ? 201 : 200, headers: {} };
  }

  function deleteCapabilities(client: MmiClient, [deviceId]: string[], instance: string): Reply {
    if (!DEVICE_ID.test(deviceId!)) {
      throw notFound('device-not-found', 'malformed device id in the path', instance);
    }
    backend.deleteCapabilities(client, deviceId!);
    return { status: 204, headers: {} };
  }

  async function postStatus(
    req: IncomingMessage,
    client: MmiClient,
    [deploymentId]: string[],
    instance: string,
  ): Promise<Reply> {
    const body = await readJsonBody(req, maxBody, instance);
    const status = parseDeploymentStatus(body, { pathDeploymentId: deploymentId! });
    const time = (name: string): number | undefined => {
      const v = req.headers[name];
      const n = typeof v === 'string' && /^\d{1,16}$/.test(v.trim()) ? Number(v) : NaN;
      return Number.isFinite(n) ? n : undefined;
    };
    const outcome = await backend.postStatus(client, status, {
      eventAt: time(STATUS_EVENT_AT_HEADER),
      sentAt: time(STATUS_SENT_AT_HEADER),
    });
    return { status: outcome === 'created' ? 201 : 200, headers: {} };
  }

  function jsonDocument(req: IncomingMessage, value: unknown): Reply {
    const bytes = Buffer.from(canonicalJson(value), 'utf8');
    const digest = sha256Digest(bytes);
    return conditional(
      req,
      digest,
      { 'content-type': 'application/json', etag: strongEtag(digest), 'cache-control': 'no-cache' },
      bytes,
    );
  }

  function wellKnown(req: IncomingMessage): Reply {
    const base = advertisedOrigin(req);
    return jsonDocument(req, wellKnownMargo({ trustDomain, trustBundleUri: base + TRUST_BUNDLE_PATH }));
  }

  function readEnrollRequest(body: unknown, instance: string): EnrollRequest {
    const errors: { field: string; message: string }[] = [];
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      errors.push({ field: '', message: 'must be a JSON object {token, csr, hostname?}' });
    } else {
      const b = body as Record<string, unknown>;
      if (typeof b.token !== 'string' || b.token.trim() === '' || b.token.length > MAX_TOKEN_CHARS) {
        errors.push({ field: 'token', message: 'is required: the enrollment token as text' });
      }
      if (
        typeof b.csr !== 'string' ||
        b.csr.length > MAX_CSR_CHARS ||
        !b.csr.includes('-----BEGIN CERTIFICATE REQUEST-----')
      ) {
        errors.push({ field: 'csr', message: 'is required: a PEM certificate signing request' });
      }
      if (
        b.hostname !== undefined &&
        (typeof b.hostname !== 'string' || b.hostname.length > 253 || /[\p{Cc}\s]/u.test(b.hostname))
      ) {
        errors.push({ field: 'hostname', message: 'must be a host name of at most 253 characters' });
      }
      if (errors.length === 0) {
        return {
          token: b.token as string,
          csrPem: b.csr as string,
          hostname: b.hostname as string | undefined,
        };
      }
    }
    throw new HttpProblem(
      problem({
        status: 400,
        name: 'invalid-request',
        code: 'margo/invalid-request',
        detail: `enrollment request: ${errors.map((e) => `${e.field || 'body'} ${e.message}`).join('; ')}`,
        instance,
        errors,
      }),
    );
  }

  async function enroll(req: IncomingMessage, instance: string): Promise<Reply> {
    const remote = req.socket.remoteAddress ?? 'unknown';
    let request: EnrollRequest | undefined;
    let keys: string[] = [];
    try {
      request = readEnrollRequest(await readJsonBody(req, maxEnrollBody, instance), instance);
      // Limited per token and address, and per address for all tokens together (ADR 0483).
      const tokenKey = createHash('sha256').update(request.token).digest('hex').slice(0, 32);
      keys = [`${remote}\n${tokenKey}`, remote];
      const wait = Math.max(enrollLimiter.blockedFor(keys[0]!), enrollAddressLimiter.blockedFor(remote));
      if (wait > 0) {
        log.warn(
          { event: 'enroll-rate-limited', remote, retryAfterSeconds: wait },
          'enrollment attempts limited',
        );
        throw new HttpProblem(
          problem({
            status: 429,
            code: 'rate-limited',
            detail: `too many failed enrollment attempts ${enrollAddressLimiter.blockedFor(remote) > 0 ? 'from this address' : 'with this token from this address'}; retry after ${wait} s`,
            instance,
            retryAfterSeconds: wait,
          }),
        );
      }
      const response = await backend.enroll(request);
      log.info(
        {
          event: 'enrolled',
          clientId: response.clientId,
          spiffeId: response.spiffeId,
          hostname: request.hostname,
        },
        'node enrolled',
      );
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: Buffer.from(JSON.stringify(response), 'utf8'),
      };
    } catch (err) {
      const mapped = err instanceof HttpProblem ? err.response : problemFromError(err, instance);
      const status = mapped.problem.status;
      // Refused tokens count towards the limits (guessing); malformed requests are cheap to refuse and do not.
      if (status === 403 && keys.length) {
        enrollLimiter.fail(keys[0]!);
        enrollAddressLimiter.fail(remote);
      }
      if (status >= 400 && status < 500 && status !== 429) {
        log.warn(
          {
            event: 'enroll-refused',
            code: mapped.problem.code,
            detail: mapped.problem.detail,
            hostname: request?.hostname,
            remote,
          },
          'enrollment refused',
        );
      }
      throw err;
    }
  }

  function readRequestFiling(body: unknown, remote: string, instance: string): EnrollRequestFiling {
    const errors: { field: string; message: string }[] = [];
    const b =
      body !== null && typeof body === 'object' && !Array.isArray(body)
        ? (body as Record<string, unknown>)
        : undefined;
    const text = (field: string, max: number) => {
      const v = b?.[field];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v.length > max || /[\p{Cc}]/u.test(v)) {
        errors.push({ field, message: `must be text of at most ${max} characters` });
        return undefined;
      }
      return v;
    };
    if (b === undefined)
      errors.push({
        field: '',
        message: 'must be a JSON object {csr, hostname?, name?, hardware?, version?}',
      });
    else if (
      typeof b.csr !== 'string' ||
      b.csr.length > MAX_CSR_CHARS ||
      !b.csr.includes('-----BEGIN CERTIFICATE REQUEST-----')
    )
      errors.push({ field: 'csr', message: 'is required: a PEM certificate signing request' });
    const hostname = text('hostname', 253);
    const name = text('name', 63);
    const version = text('version', 64);
    let hardware: Record<string, unknown> | undefined;
    if (b?.hardware !== undefined) {
      const h = b.hardware;
      if (h === null || typeof h !== 'object' || Array.isArray(h) || JSON.stringify(h).length > 4096)
        errors.push({ field: 'hardware', message: 'must be a JSON object of at most 4 KiB' });
      else hardware = h as Record<string, unknown>;
    }
    if (errors.length === 0) {
      return { csrPem: b!.csr as string, hostname, name, version, hardware, address: remote };
    }
    throw new HttpProblem(
      problem({
        status: 400,
        name: 'invalid-request',
        code: 'margo/invalid-request',
        detail: `enrollment request: ${errors.map((e) => `${e.field || 'body'} ${e.message}`).join('; ')}`,
        instance,
        errors,
      }),
    );
  }

  function noApproval(instance: string): HttpProblem {
    return new HttpProblem(
      problem({
        status: 404,
        code: 'route-not-found',
        detail: 'this WFM does not take enrollment requests',
        instance,
      }),
    );
  }

  /** `POST .../outpost/enroll-requests` (ADR 0462): a node without a token files its CSR for approval. */
  async function fileEnrollRequest(req: IncomingMessage, instance: string): Promise<Reply> {
    if (backend.fileEnrollRequest === undefined) throw noApproval(instance);
    const remote = normaliseAddress(req.socket.remoteAddress);
    const filing = readRequestFiling(await readJsonBody(req, maxEnrollBody, instance), remote, instance);
    try {
      const filed = await backend.fileEnrollRequest(filing);
      return {
        status: 202,
        headers: {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          location: `${instance}/${encodeURIComponent(filed.id)}`,
        },
        body: Buffer.from(JSON.stringify(filed), 'utf8'),
      };
    } catch (err) {
      const mapped = err instanceof HttpProblem ? err.response : problemFromError(err, instance);
      if (mapped.problem.status >= 400 && mapped.problem.status < 500)
        log.warn(
          {
            event: 'enroll-request-refused',
            code: mapped.problem.code,
            detail: mapped.problem.detail,
            remote,
          },
          'enrollment request refused',
        );
      throw err;
    }
  }

  /** `GET .../outpost/enroll-requests/{id}` with `Authorization: Bearer <poll secret>`. */
  async function enrollRequestState(req: IncomingMessage, [id]: string[], instance: string): Promise<Reply> {
    if (backend.pollEnrollRequest === undefined) throw noApproval(instance);
    const remote = req.socket.remoteAddress ?? 'unknown';
    const wait = enrollLimiter.blockedFor(remote);
    if (wait > 0) {
      throw new HttpProblem(
        problem({
          status: 429,
          code: 'rate-limited',
          detail: `too many failed enrollment attempts from this address; retry after ${wait} s`,
          instance,
          retryAfterSeconds: wait,
        }),
      );
    }
    const auth = req.headers.authorization ?? '';
    const secret = /^Bearer ([A-Za-z0-9_-]{20,100})$/.exec(auth)?.[1];
    try {
      if (secret === undefined || !/^[A-Za-z0-9-]{1,40}$/.test(id!))
        throw new OutpostError(
          'margo/not-authorized',
          'the poll secret of the request is required (Authorization: Bearer)',
          {
            status: 403,
          },
        );
      const state = await backend.pollEnrollRequest(id!, secret);
      if (state.state === 'pending') {
        return {
          status: 202,
          headers: {
            'content-type': 'application/json',
            'cache-control': 'no-store',
            'retry-after': String(state.retryAfterSeconds),
          },
          body: Buffer.from(JSON.stringify(state), 'utf8'),
        };
      }
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: Buffer.from(JSON.stringify(state.response), 'utf8'),
      };
    } catch (err) {
      const mapped = err instanceof HttpProblem ? err.response : problemFromError(err, instance);
      if (mapped.problem.code === 'margo/not-authorized') enrollLimiter.fail(remote);
      throw err;
    }
  }

  function readRenewCsr(body: unknown, instance: string): string {
    const b =
      body !== null && typeof body === 'object' && !Array.isArray(body)
        ? (body as Record<string, unknown>)
        : undefined;
    if (
      b !== undefined &&
      typeof b.csr === 'string' &&
      b.csr.length <= MAX_CSR_CHARS &&
      b.csr.includes('-----BEGIN CERTIFICATE REQUEST-----')
    ) {
      return b.csr;
    }
    const errors = [
      { field: 'csr', message: 'is required: a PEM certificate signing request for the new key' },
    ];
    throw new HttpProblem(
      problem({
        status: 400,
        name: 'invalid-request',
        code: 'margo/invalid-request',
        detail: 'renewal request: must be a JSON object {csr} with a PEM certificate signing request',
        instance,
        errors,
      }),
    );
  }

  /**
   * SVID renewal (ADR 0380): the client is authenticated and authorised like any MMI request; the new SVID
   * is for the presented SPIFFE ID. The connection is closed after the answer, so the node's next request
   * is a new handshake (Margo: reconnect after renewing).
   */
  async function renew(req: IncomingMessage, client: MmiClient, instance: string): Promise<Reply> {
    if (backend.renewSvid === undefined) {
      throw new HttpProblem(
        problem({ status: 404, code: 'route-not-found', detail: 'this WFM does not renew SVIDs', instance }),
      );
    }
    const socket = req.socket as TLSSocket;
    const presented = socket.getPeerX509Certificate();
    if (presented === undefined)
      throw new OutpostError('internal', 'authenticated request without a certificate');
    try {
      const csrPem = readRenewCsr(await readJsonBody(req, maxEnrollBody, instance), instance);
      const response = await backend.renewSvid(client, {
        csrPem,
        presentedKeySpki: presented.publicKey.export({ type: 'spki', format: 'der' }),
      });
      log.info(
        {
          event: 'svid-renewed',
          spiffeId: client.spiffeId,
          previousSerial: client.serialHex,
          serialHex: response.serialHex,
          notAfter: new Date(response.notAfter).toISOString(),
        },
        'node SVID renewed',
      );
      return {
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: Buffer.from(JSON.stringify(response), 'utf8'),
        closeConnection: true,
      };
    } catch (err) {
      const mapped = err instanceof HttpProblem ? err.response : problemFromError(err, instance);
      if (mapped.problem.status >= 400 && mapped.problem.status < 500) {
        log.warn(
          {
            event: 'renew-refused',
            spiffeId: client.spiffeId,
            serialHex: client.serialHex,
            code: mapped.problem.code,
            detail: mapped.problem.detail,
            remote: socket.remoteAddress,
          },
          'SVID renewal refused',
        );
      }
      throw err;
    }
  }

  // ---- dispatch -----------------------------------------------------------------------------------

  async function dispatch(
    req: IncomingMessage,
    match: RouteMatch,
    client: MmiClient | undefined,
    instance: string,
  ): Promise<Reply> {
    const method = req.method ?? 'GET';
    if (!match.allow.includes(method)) {
      throw new HttpProblem(
        problem({
          status: 405,
          code: 'method-not-allowed',
          detail: `${method} is not allowed here; use ${match.allow.join(', ')}`,
          instance,
          headers: { allow: match.allow.join(', ') },
        }),
      );
    }
    if (match.route === 'well-known') return wellKnown(req);
    if (match.route === 'trust-bundle') return jsonDocument(req, backend.trustBundle().json);
    if (match.route === 'enroll') return enroll(req, instance);
    if (match.route === 'enroll-request') return fileEnrollRequest(req, instance);
    if (match.route === 'enroll-request-state') return enrollRequestState(req, match.params, instance);
    const c = client!;
    switch (match.route) {
      case 'manifest':
        return manifest(req, c, instance);
      case 'deployment-yaml':
        return deploymentYaml(req, c, match.params, instance);
      case 'bundle':
        return bundle(req, c, match.params, instance);
      case 'capabilities':
        return method === 'PUT'
          ? putCapabilities(req, c, match.params, instance)
          : deleteCapabilities(c, match.params, instance);
      case 'status':
        return postStatus(req, c, match.params, instance);
      case 'renew':
        return renew(req, c, instance);
      default:
        throw new OutpostError('internal', `route ${match.route} has no handler`);
    }
  }

  function problemReply(p: ProblemResponse): Reply {
    return {
      status: p.problem.status,
      headers: {
        ...p.headers,
        'content-type': PROBLEM_CONTENT_TYPE,
        'cache-control': 'no-store',
      },
      body: Buffer.from(JSON.stringify(p.problem), 'utf8'),
      closeConnection: p.closeConnection,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = clock.monotonic();
    const socket = req.socket as TLSSocket;
    const url = req.url ?? '/';
    let pathname: string;
    if (PLAIN_PATH.test(url)) pathname = url;
    else
      try {
        pathname = new URL(url, 'https://mmi.invalid').pathname;
      } catch {
        pathname = '/';
      }
    const instance = pathname;
    let spiffeId: string | undefined;
    let reply: Reply;
    try {
      const match = matchRoute(pathname, basePath);
      // Unknown paths are protected too: only an authenticated client learns that a route does not exist.
      const client = match?.public === true ? undefined : authenticate(req, instance);
      spiffeId = client?.spiffeId;
      if (match === undefined) {
        throw new HttpProblem(
          problem({ status: 404, code: 'route-not-found', detail: `no MMI route ${pathname}`, instance }),
        );
      }
      reply = await dispatch(req, match, client, instance);
    } catch (err) {
      if (err instanceof HttpProblem) {
        reply = problemReply(err.response);
      } else {
        const mapped = problemFromError(err, instance);
        if (mapped.internal) log.error({ err, path: instance }, 'MMI request failed');
        reply = problemReply(mapped);
      }
    }
    const conn = connections.get(socket);
    const headers: Record<string, string> = { 'x-content-type-options': 'nosniff', ...reply.headers };
    // Close only when the request has no body or was read completely: closing with unread request bytes
    // makes the kernel send a reset, and the client might lose this very response. (Node discards an unread
    // body and keeps the connection; the next request closes it.)
    const tooOld = conn !== undefined && clock.monotonic() - conn.openedAt >= maxAge;
    const bodyless =
      req.headers['transfer-encoding'] === undefined &&
      (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
    if ((reply.closeConnection || tooOld) && (req.complete || bodyless)) headers.connection = 'close';
    const body = reply.status === 304 || reply.status === 204 ? undefined : (reply.body ?? Buffer.alloc(0));
    if (body !== undefined) headers['content-length'] = String(body.length);
    res.writeHead(reply.status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    if (log.isLevelEnabled('debug')) {
      const peer = spiffeId ?? peerIdOf(socket);
      log.debug(
        {
          method: req.method,
          path: pathname,
          status: reply.status,
          ms: Math.round(clock.monotonic() - started),
          spiffeId: peer,
          conn: conn?.id,
        },
        'MMI request',
      );
    }
  }

  function peerIdOf(socket: TLSSocket): string | undefined {
    const san = socket.getPeerCertificate()?.subjectaltname;
    return san?.startsWith('URI:') ? san.slice(4).split(',')[0] : undefined;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // A fleet reconnecting at once (thousands of nodes after the LO was busy or restarted) overflows Node's
    // default accept queue of 511: the kernel drops SYNs and resets handshakes (ADR 0503). Linux caps the
    // queue at net.core.somaxconn.
    server.listen({ port: input.port ?? 0, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  origin = `https://${hostForUrl(host)}:${port}`;
  log.info({ url: origin + basePath, spiffeId: ownId }, 'MMI server listening');

  return {
    url: origin + basePath,
    origin,
    port,
    setTls(next) {
      const built = buildTls(next, ownId, tickets);
      server.setSecureContext(built.context);
      // Sessions made under the old material must not resume under the new one; verdicts go with it.
      server.setTicketKeys(randomBytes(48));
      verdicts.clear();
      tls = built;
      log.info({ anchors: built.anchors.certs.length }, 'MMI TLS material replaced');
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
