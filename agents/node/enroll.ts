import https from 'node:https';
import { createPublicKey, X509Certificate } from 'node:crypto';
import os from 'node:os';
import { OutpostError } from '../../lib/errors/index.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { nodeKeyAndCsr } from './csr.js';
import {
  parseEnrollmentToken,
  type EnrollmentToken,
  PinnedCaAgent,
  caFingerprint,
  splitCertificatesPem,
} from '../../lib/identity/index.js';
import { type EnrollResponse, ENROLL_PATH } from '../../lib/mmi/index.js';
import { problemFrom } from '../margo/problem.js';
import type { AgentPaths } from './home.js';
import { isEnrolled, readEnrollment, saveIdentity, type Enrollment } from './identity.js';
import { effectiveSiteRegistry } from './site-registry.js';

/**
 * Enrollment (ADR 0264): the node makes its key pair and CSR, trusts the LO on first contact only by the
 * site CA fingerprint the one-time token carries (never trust on first use), sends token + CSR, checks
 * that the SVID it gets back is for its own key and chains to the pinned CA, and stores key (0600), SVID
 * and trust anchors. Every expected failure is an OutpostError with a one-line message.
 */

export interface EnrollInput {
  paths: AgentPaths;
  token: string;
  /** The LO's MMI URL; default: the URL the token carries. */
  lo?: string;
  /** Replace an existing identity. */
  force?: boolean;
  hostname?: string;
  clock: Clock;
  logger: Logger;
  timeoutMs?: number;
}

export async function enrollAgent(input: EnrollInput): Promise<Enrollment> {
  const { paths, clock } = input;
  const log = input.logger.child({ component: 'agent-enroll' });
  let token: EnrollmentToken;
  try {
    token = parseEnrollmentToken(input.token);
  } catch (e) {
    throw new OutpostError(
      'agent/invalid-token',
      `the enrollment token is not valid: ${(e as Error).message}`,
      {
        status: 400,
      },
    );
  }
  if (clock.now() >= token.expiresAt) {
    throw new OutpostError(
      'agent/token-expired',
      `the enrollment token for node "${token.nodeName}" expired at ${new Date(token.expiresAt).toISOString()}; ask the operator for a new one`,
      { status: 400 },
    );
  }
  const lo = input.lo ?? token.lmmiUrl;
  if (!lo) {
    throw new OutpostError('invalid-input', 'the token names no LO URL: pass --lo https://<lo-host>:<port>');
  }
  let base: URL;
  try {
    base = new URL(lo);
  } catch {
    throw new OutpostError('invalid-input', `--lo "${lo}" is not a URL (expected https://<lo-host>:<port>)`);
  }
  if (base.protocol !== 'https:')
    throw new OutpostError('invalid-input', `--lo "${lo}" must be an https:// URL`);
  if (isEnrolled(paths) && !input.force) {
    const e = readEnrollment(paths);
    throw new OutpostError(
      'already-exists',
      `${paths.home} is already enrolled as ${e?.clientId ?? 'a node'} at ${e?.mmiUrl ?? 'an LO'}; pass --force to enroll again`,
    );
  }

  const { keyPem, csrPem } = await nodeKeyAndCsr(token.nodeName);
  const agent = new PinnedCaAgent({ fingerprint: token.caFingerprint, now: () => clock.now() });
  const url = new URL(base.pathname.replace(/\/+$/, '') + ENROLL_PATH, base.origin);
  const body = Buffer.from(
    JSON.stringify({
      token: input.token.replace(/\s+/g, ''),
      csr: csrPem,
      hostname: input.hostname ?? os.hostname(),
    }),
  );
  let res: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };
  try {
    res = await post(url, body, agent, input.timeoutMs ?? 30_000);
  } catch (e) {
    if (e instanceof OutpostError && e.code === 'identity/pin-mismatch') {
      log.error(
        { securityEvent: 'enroll-pin-mismatch', lo: url.origin },
        'security: the enrollment server does not present the site CA from the token',
      );
      throw new OutpostError(
        'agent/ca-mismatch',
        `the server at ${url.origin} is not the site named in the token (CA fingerprint mismatch): ${e.message.replace(/^enrollment server rejected: /, '')}`,
        { status: 403 },
      );
    }
    if (e instanceof OutpostError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new OutpostError(
      'network-error',
      `cannot reach the LO at ${url.origin}: ${err.code ?? err.message}`,
      { cause: e },
    );
  } finally {
    agent.destroy();
  }
  if (res.status !== 200 && res.status !== 201) {
    const p = problemFrom(res.status, res.headers, res.body, clock.now());
    throw new OutpostError(
      'agent/enroll-refused',
      `the LO refused the enrollment (${res.status}${p.type === 'about:blank' ? '' : ` ${p.type}`}): ${p.detail ?? p.title ?? 'no reason given'}`,
      { status: res.status, data: p },
    );
  }
  let reply: EnrollResponse;
  try {
    reply = JSON.parse(res.body.toString('utf8')) as EnrollResponse;
  } catch {
    throw new OutpostError(
      'agent/enroll-refused',
      `the LO at ${url.origin} answered the enrollment with something that is not JSON`,
    );
  }
  checkReply(reply, keyPem, token.caFingerprint);
  // The URL the operator gave wins over what the LO believes it is reachable at (NAT, port forwards).
  const mmiUrl = input.lo ?? reply.mmiUrl ?? lo;
  const registryUrl =
    typeof reply.registryUrl === 'string'
      ? effectiveSiteRegistry(undefined, reply.registryUrl, mmiUrl)
      : undefined;
  const enrollment: Enrollment = {
    clientId: reply.clientId,
    spiffeId: reply.spiffeId,
    wfmSpiffeId: reply.wfmSpiffeId,
    mmiUrl,
    ...(registryUrl ? { registryUrl } : {}),
    siteId: token.siteId,
    nodeName: token.nodeName,
    tenantId: token.tenantId,
    caFingerprint: token.caFingerprint,
    notAfter: reply.notAfter,
    enrolledAt: clock.now(),
  };
  saveIdentity(paths, {
    enrollment,
    certPem: reply.certPem,
    keyPem,
    anchorsPem: reply.anchorsPem,
    ...(reply.nats ? { nats: reply.nats } : {}),
  });
  log.info(
    { clientId: enrollment.clientId, spiffeId: enrollment.spiffeId, lo: enrollment.mmiUrl },
    'node enrolled',
  );
  return enrollment;
}

/** The LO's answer must be an SVID for our key, with the SPIFFE ID it names, chaining to the pinned CA. */
export function checkReply(reply: EnrollResponse, keyPem: string, caFingerprintPin: string): void {
  const bad = (m: string) =>
    new OutpostError('agent/enroll-refused', `the LO's enrollment answer is not acceptable: ${m}`);
  if (
    typeof reply?.certPem !== 'string' ||
    !Array.isArray(reply.anchorsPem) ||
    typeof reply.spiffeId !== 'string'
  )
    throw bad('certificate, trust anchors or SPIFFE ID missing');
  const leafPem = splitCertificatesPem(reply.certPem)[0];
  if (!leafPem) throw bad('no certificate');
  const leaf = new X509Certificate(leafPem);
  const ours = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  if (!leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(ours))
    throw bad("the SVID is not for this node's key");
  if (!(leaf.subjectAltName ?? '').split(', ').includes(`URI:${reply.spiffeId}`))
    throw bad(`the SVID does not carry ${reply.spiffeId}`);
  const anchors = reply.anchorsPem.flatMap((p) => splitCertificatesPem(p));
  if (!anchors.some((a) => caFingerprint(a) === caFingerprintPin))
    throw bad(`the trust anchors do not include the pinned site CA ${caFingerprintPin}`);
  const ca = anchors.find((a) => caFingerprint(a) === caFingerprintPin)!;
  if (!leaf.verify(new X509Certificate(ca).publicKey)) throw bad('the SVID is not signed by the site CA');
}

export interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function post(url: URL, body: Buffer, agent: https.Agent, timeoutMs: number): Promise<HttpsReply> {
  return httpsJson({ method: 'POST', url, body, agent, timeoutMs });
}

/** One JSON request over the given agent (the pinned-CA agent during enrollment); answers up to 1 MiB. */
export function httpsJson(o: {
  method: 'GET' | 'POST';
  url: URL;
  body?: Buffer;
  agent: https.Agent;
  timeoutMs: number;
  headers?: Record<string, string>;
}): Promise<HttpsReply> {
  const { url, body, agent, timeoutMs } = o;
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        method: o.method,
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || 443,
        path: url.pathname,
        agent,
        headers: {
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
          accept: 'application/json',
          ...o.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > 1024 * 1024) res.destroy(new Error('enrollment answer too large'));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.setTimeout(timeoutMs, () =>
      req.destroy(new OutpostError('network-error', `no answer from ${url.origin} within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}
