import { X509Certificate } from 'node:crypto';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { nodeKeyAndCsr } from './csr.js';
import { splitCertificatesPem } from '../../lib/identity/index.js';
import { type RenewResponse, RENEW_PATH } from '../../lib/mmi/index.js';
import type { MmiClient } from '../margo/mmi-client.js';
import { problemError, problemFrom } from '../margo/problem.js';
import type { AgentPaths } from './home.js';
import { commitRenewedIdentity, keyMatchesCertificate, type AgentIdentity } from './identity.js';

/**
 * SVID renewal on the node (ADR 0380). Loaded with import() only when a renewal is due, so the idle
 * agent does not carry it (footprint.test.ts); the CSR comes from csr-lite (no @peculiar/x509).
 *
 * A new P-256 key pair is made here and never leaves the node; the CSR goes to the LO over mutual TLS
 * with the current SVID; the answer must be an SVID for the new key, for the node's own SPIFFE ID, signed
 * by one of the node's trust anchors, and expiring later than the current one. Only then are key, SVID
 * and enrollment record replaced as one (commitRenewedIdentity). Any failure leaves the current identity.
 */

export interface RenewInput {
  paths: AgentPaths;
  /** The identity in use (its SVID authenticates the request). */
  identity: AgentIdentity;
  /** An MMI client presenting `identity`. */
  client: MmiClient;
  clock: Clock;
  logger: Logger;
}

export async function renewIdentity(input: RenewInput): Promise<AgentIdentity> {
  const { identity, clock } = input;
  const current = new X509Certificate(splitCertificatesPem(identity.certPem)[0] ?? identity.certPem);
  const { keyPem, csrPem } = await nodeKeyAndCsr(identity.enrollment.nodeName);
  const res = await input.client.request('POST', RENEW_PATH, {
    json: { csr: csrPem },
    headers: { accept: 'application/json' },
    maxBytes: 1024 * 1024,
  });
  if (res.status !== 200) {
    throw problemError('POST renew', problemFrom(res.status, res.headers, res.body, clock.now()));
  }
  let reply: RenewResponse;
  try {
    reply = JSON.parse(res.body.toString('utf8')) as RenewResponse;
  } catch {
    throw refused('the answer is not JSON');
  }
  const leafPem = typeof reply?.certPem === 'string' ? splitCertificatesPem(reply.certPem)[0] : undefined;
  if (!leafPem) throw refused('it holds no certificate');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch {
    throw refused('its certificate cannot be parsed');
  }
  if (!keyMatchesCertificate(keyPem, leafPem)) throw refused("the SVID is not for the node's new key");
  const uris = (leaf.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('URI:'));
  if (uris.length !== 1 || uris[0] !== `URI:${identity.enrollment.spiffeId}`)
    throw refused(
      `the SVID is not for ${identity.enrollment.spiffeId} (it names ${uris.join(', ') || 'nothing'})`,
    );
  const anchors = identity.anchorsPem
    .flatMap((p) => splitCertificatesPem(p))
    .map((p) => new X509Certificate(p));
  if (!anchors.some((a) => leaf.checkIssued(a) && leaf.verify(a.publicKey)))
    throw refused("the SVID is not signed by the site CA in the node's trust anchors");
  const notAfter = Date.parse(leaf.validTo);
  const currentNotAfter = Date.parse(current.validTo);
  if (notAfter <= currentNotAfter) {
    throw refused(
      `the new SVID expires at ${leaf.validTo}, not later than the current one (${current.validTo}); is the site CA about to expire?`,
    );
  }
  const enrollment = { ...identity.enrollment, notAfter, renewedAt: clock.now() };
  commitRenewedIdentity(input.paths, { keyPem, certPem: reply.certPem, enrollment });
  return { ...identity, enrollment, keyPem, certPem: reply.certPem };
}

function refused(why: string): OutpostError {
  return new OutpostError('agent/renew-refused', `the LO's renewal answer is not acceptable: ${why}`);
}
