import os from 'node:os';
import net from 'node:net';
import tls from 'node:tls';
import { createPublicKey } from 'node:crypto';
import { OutpostError } from '../../lib/errors/index.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import {
  PinnedCaAgent,
  caFingerprint,
  derToPem,
  parseCertificate,
  spkiFingerprint,
} from '../../lib/identity/index.js';
import { type EnrollRequestFiled, type EnrollResponse, ENROLL_REQUESTS_PATH } from '../../lib/mmi/index.js';
import { compareCode } from '../../lib/discovery/index.js';
import { problemFrom } from '../margo/problem.js';
import { nodeKeyAndCsr } from './csr.js';
import { checkReply, httpsJson, type HttpsReply } from './enroll.js';
import type { AgentPaths } from './home.js';
import { isEnrolled, readEnrollment, saveIdentity, type Enrollment } from './identity.js';
import { effectiveSiteRegistry } from './site-registry.js';
import { advertiseAgent } from './advertise.js';

/**
 * Enrollment by approval on the node (ADR 0462): key pair and CSR here, the request filed at the LO over
 * TLS pinned to the site CA (from the LO's advertisement, `--ca-fingerprint`, or, with neither, the CA the
 * LO presents, printed for the operator to compare), then the node waits for the operator: approved, it
 * stores its identity like a token enrollment; rejected or expired, it says so and stops.
 */

export interface FiledInfo {
  id: string;
  lo: string;
  caFingerprint: string;
  keyFingerprint: string;
  code: string;
  expiresAt: number;
  /** True when the CA was taken from the LO on first contact (no advertisement, no --ca-fingerprint). */
  caFromServer: boolean;
}

export interface RequestEnrollmentInput {
  paths: AgentPaths;
  /** The LO's MMI base URL (https). */
  lo: string;
  /** Pin; without it the CA the LO presents is used and the operator compares the code. */
  caFingerprint?: string | undefined;
  /** The node name to ask for (the operator decides); default the host name. */
  name?: string | undefined;
  hostname?: string;
  version: string;
  force?: boolean;
  clock: Clock;
  logger: Logger;
  signal?: AbortSignal;
  onFiled?: (info: FiledInfo) => void;
  /** Per HTTP request; default 30 s. */
  timeoutMs?: number;
  /** agent.yaml's `discovery`: while waiting, the node advertises itself with its key fingerprint (ADR 0464). */
  discovery?: { advertise: boolean; interfaces: string[] };
}

export function hardwareSummary(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    arch: os.arch(),
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()}`,
  };
}

export async function requestEnrollment(input: RequestEnrollmentInput): Promise<Enrollment> {
  const { paths, clock } = input;
  const log = input.logger.child({ component: 'agent-enroll-request' });
  let base: URL;
  try {
    base = new URL(input.lo);
  } catch {
    throw new OutpostError(
      'invalid-input',
      `--lo "${input.lo}" is not a URL (expected https://<lo-host>:<port>)`,
    );
  }
  if (base.protocol !== 'https:')
    throw new OutpostError('invalid-input', `--lo "${input.lo}" must be an https:// URL`);
  if (isEnrolled(paths) && !input.force) {
    const e = readEnrollment(paths);
    throw new OutpostError(
      'already-exists',
      `${paths.home} is already enrolled as ${e?.clientId ?? 'a node'} at ${e?.mmiUrl ?? 'an LO'}; pass --force to enroll again`,
    );
  }
  const timeoutMs = input.timeoutMs ?? 30_000;
  const caFromServer = input.caFingerprint === undefined;
  const pin = input.caFingerprint ?? (await presentedCaFingerprint(base, timeoutMs));
  const hostname = input.hostname ?? os.hostname();
  const { keyPem, csrPem } = await nodeKeyAndCsr(input.name ?? hostname.split('.')[0]!.toLowerCase());
  const keyFingerprint = spkiFingerprint(createPublicKey(keyPem));
  const prefix = base.pathname.replace(/\/+$/, '');
  const agent = new PinnedCaAgent({ fingerprint: pin, now: () => clock.now() });
  const call = async (
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ) => {
    const url = new URL(prefix + path, base.origin);
    try {
      return await httpsJson({
        method,
        url,
        agent,
        timeoutMs,
        ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
        ...(headers ? { headers } : {}),
      });
    } catch (e) {
      if (e instanceof OutpostError && e.code === 'identity/pin-mismatch') {
        log.error(
          { securityEvent: 'enroll-pin-mismatch', lo: url.origin },
          'the LO does not present the pinned site CA',
        );
        throw new OutpostError(
          'agent/ca-mismatch',
          `the server at ${url.origin} does not present the site CA it advertises (CA fingerprint mismatch)`,
          { status: 403 },
        );
      }
      if (e instanceof OutpostError) throw e;
      const err = e as NodeJS.ErrnoException;
      throw new OutpostError(
        'network-error',
        `cannot reach the LO at ${url.origin}: ${err.code ?? err.message}`,
        {
          cause: e,
        },
      );
    }
  };
  let advert: Awaited<ReturnType<typeof advertiseAgent>>;
  const refused = (res: HttpsReply, what: string) => {
    const p = problemFrom(res.status, res.headers, res.body, clock.now());
    return { p, message: `${what} (${res.status}): ${p.detail ?? p.title ?? 'no reason given'}` };
  };

  try {
    const filedRes = await call('POST', ENROLL_REQUESTS_PATH, {
      csr: csrPem,
      hostname,
      ...(input.name ? { name: input.name } : {}),
      hardware: hardwareSummary(),
      version: input.version,
    });
    if (filedRes.status !== 202) {
      const { p, message } = refused(filedRes, 'the LO refused the enrollment request');
      throw new OutpostError('agent/enroll-refused', message, { status: filedRes.status, data: p });
    }
    const filed = JSON.parse(filedRes.body.toString('utf8')) as EnrollRequestFiled;
    const code = compareCode(pin, keyFingerprint);
    if (filed.keyFingerprint !== keyFingerprint || filed.code !== code)
      throw new OutpostError(
        'agent/ca-mismatch',
        `the LO's answer does not match this node's key and the pinned CA (code ${filed.code}, expected ${code}); not waiting for it`,
      );
    const info: FiledInfo = {
      id: filed.id,
      lo: base.href.replace(/\/$/, ''),
      caFingerprint: pin,
      keyFingerprint,
      code,
      expiresAt: filed.expiresAt,
      caFromServer,
    };
    log.info({ ...info }, 'enrollment request filed; waiting for an operator');
    input.onFiled?.(info);
    // While it waits the node shows up under "found on the network", matched with its request by key.
    advert = input.discovery
      ? await advertiseAgent({
          lo: input.lo,
          keyPem,
          version: input.version,
          config: input.discovery,
          logger: log,
        })
      : undefined;

    for (;;) {
      await sleep(Math.max(1, filed.pollAfterSeconds) * 1000, input.signal);
      let res: HttpsReply;
      try {
        res = await call('GET', `${ENROLL_REQUESTS_PATH}/${encodeURIComponent(filed.id)}`, undefined, {
          authorization: `Bearer ${filed.pollSecret}`,
        });
      } catch (e) {
        if (e instanceof OutpostError && e.code === 'network-error' && clock.now() < filed.expiresAt) {
          log.warn({ err: e.message }, 'LO unreachable while waiting for approval; retrying');
          continue;
        }
        throw e;
      }
      if (res.status === 202) continue;
      if (res.status === 200) {
        const reply = JSON.parse(res.body.toString('utf8')) as EnrollResponse;
        checkReply(reply, keyPem, pin);
        if (!reply.siteId || !reply.nodeName || !reply.tenantId)
          throw new OutpostError('agent/enroll-refused', "the LO's answer names no site, node or tenant");
        const mmiUrl = input.lo.replace(/\/+$/, '');
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
          siteId: reply.siteId,
          nodeName: reply.nodeName,
          tenantId: reply.tenantId,
          caFingerprint: pin,
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
          { clientId: enrollment.clientId, request: filed.id },
          'enrollment request approved; node enrolled',
        );
        return enrollment;
      }
      const { p, message } = refused(res, `enrollment request ${filed.id} ended`);
      if (p.rawType === 'urn:outpost:problem:enroll-request-rejected')
        throw new OutpostError('agent/enroll-rejected', p.detail ?? message, { status: 403 });
      if (p.rawType === 'urn:outpost:problem:enroll-request-expired')
        throw new OutpostError('agent/enroll-expired', p.detail ?? message, { status: 410 });
      if (res.status === 429 || res.status >= 500) continue;
      throw new OutpostError('agent/enroll-refused', message, { status: res.status, data: p });
    }
  } finally {
    agent.destroy();
    await advert?.stop().catch(() => undefined);
  }
}

/**
 * The fingerprint of the CA certificate the server presents in its chain (ADR 0142: the LO sends its CA
 * after its SVID). Used only when nothing else pins the CA; the operator compares the code.
 */
export async function presentedCaFingerprint(url: URL, timeoutMs: number): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const chain = await new Promise<Buffer[]>((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(url.port || 443),
      rejectUnauthorized: false,
      ...(net.isIP(host) ? {} : { servername: host }),
    });
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new OutpostError('network-error', `no answer from ${url.origin}`)),
    );
    socket.once('secureConnect', () => {
      const out: Buffer[] = [];
      let c: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (c && c.raw && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256);
        out.push(c.raw);
        c = c.issuerCertificate;
      }
      socket.destroy();
      resolve(out);
    });
    socket.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        e instanceof OutpostError
          ? e
          : new OutpostError('network-error', `cannot reach the LO at ${url.origin}: ${e.code ?? e.message}`),
      ),
    );
  });
  const cas = chain.map((der) => parseCertificate(der)).filter((c) => c.ca);
  if (cas.length === 0)
    throw new OutpostError(
      'agent/ca-mismatch',
      `the server at ${url.origin} presents no CA certificate to pin`,
    );
  return caFingerprint(derToPem(cas[cas.length - 1]!.raw, 'CERTIFICATE'));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new OutpostError('cancelled', 'stopped while waiting for approval'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(
        new OutpostError(
          'cancelled',
          'stopped while waiting for approval; the request stays pending until it expires',
        ),
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
