import type { X509Certificate } from 'node:crypto';
import { certInfo, KEY_USAGE, OID, type CertInfo } from './cert-info.js';
import { identityError } from './identity-error.js';
import { parseCertificate, splitCertificatesPem } from './pem.js';
import { classifySpiffeId, parseSpiffeId, spiffeIdProblem, type SpiffeId } from './spiffe-id.js';

/**
 * Verification of a peer's X.509-SVID chain: what the MMI server does on every request and what the agent
 * does on the WFM's server certificate (Margo rc.3 section "WFM recognition of a client" / "Client
 * recognition of the WFM"; SPIFFE X509-SVID section 5). Order of checks and the codes: ADR 0143.
 *
 * The chain is validated for real: every link's signature is checked with node:crypto up to a trust
 * anchor, every certificate's validity window is enforced (with a bounded clock skew), intermediates must
 * be CAs within their path length, and certificates with duplicate or unknown critical extensions are
 * refused. There is no CRL/OCSP (Margo: revocation is short lifetimes plus the accepted-client policy):
 * the result carries `serialHex` so the caller can apply its deny list.
 */

export type PeerFailureCode =
  | 'no-certificate'
  | 'malformed'
  | 'wrong-ca'
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-trust-domain'
  | 'wrong-form'
  | 'no-uri-san'
  | 'multiple-uri-sans'
  | 'ca-leaf'
  | 'bad-key-usage'
  | 'unsupported-key';

export type PeerRole = 'client' | 'wfm';

export type VerifyPeerResult =
  | {
      ok: true;
      spiffeId: string;
      role: PeerRole;
      /** The `<wfm-client-id>` segment when role is 'client'. */
      clientId?: string;
      serialHex: string;
      notAfter: number;
      /**
       * When the whole path (leaf, intermediates, anchor) is valid: the latest notBefore and the earliest
       * notAfter (ms). A caller may keep this result for the same leaf and anchors while `now` is inside.
       */
      pathValidity: { notBefore: number; notAfter: number };
    }
  | {
      ok: false;
      code: PeerFailureCode;
      /** One line for logs and problem details. */
      reason: string;
      /** Known once the chain has been validated. */
      spiffeId?: string;
      serialHex?: string;
    };

/** Parsed trust anchors; build once with trustAnchors() and reuse across requests. */
export interface TrustAnchors {
  readonly certs: readonly X509Certificate[];
}

export interface VerifyPeerInput {
  /** Leaf first, then intermediates (extra certificates, such as the root itself, are harmless). */
  chainDer: readonly Uint8Array[];
  /** The trust bundle: PEM strings, each holding one or more CA certificates. Or `anchors`. */
  anchorsPem?: readonly string[];
  anchors?: TrustAnchors;
  /** Milliseconds since the epoch. */
  now: number;
  /** Default 60. */
  clockSkewSeconds?: number;
  expect: { trustDomain: string; wfmId: string; role: PeerRole };
}

export const DEFAULT_CLOCK_SKEW_SECONDS = 60;
const MAX_CHAIN = 8;

/** Parses anchors once; throws `identity/invalid-certificate` for junk or a certificate that is not a CA. */
export function trustAnchors(anchorsPem: readonly string[]): TrustAnchors {
  const certs: X509Certificate[] = [];
  for (const pem of anchorsPem) {
    const blocks = splitCertificatesPem(pem);
    if (blocks.length === 0)
      throw identityError('identity/invalid-certificate', 'trust anchor PEM holds no certificate');
    for (const block of blocks) {
      const cert = parseCertificate(block, 'trust anchor');
      if (!cert.ca) {
        throw identityError(
          'identity/invalid-certificate',
          `trust anchor "${cert.subject.replace(/\n/g, ', ')}" is not a CA`,
        );
      }
      certs.push(cert);
    }
  }
  return { certs };
}

interface Node {
  cert: X509Certificate;
  info: CertInfo;
}

type Failure = Extract<VerifyPeerResult, { ok: false }>;

function fail(
  code: PeerFailureCode,
  reason: string,
  extra: { spiffeId?: string; serialHex?: string } = {},
): Failure {
  return { ok: false, code, reason, ...extra };
}

function describe(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ') || '(empty subject)';
}

function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/** What key types an SVID may carry (Margo rc.3: P-256 mandatory; P-384, Ed25519, RSA >= 3072 optional). */
function keyProblem(cert: X509Certificate): string | undefined {
  const key = cert.publicKey;
  const type = key.asymmetricKeyType;
  const d = key.asymmetricKeyDetails;
  if (type === 'ec' && (d?.namedCurve === 'prime256v1' || d?.namedCurve === 'secp384r1')) return undefined;
  if (type === 'ed25519') return undefined;
  if ((type === 'rsa' || type === 'rsa-pss') && (d?.modulusLength ?? 0) >= 3072) return undefined;
  const what = type === 'ec' ? `EC ${d?.namedCurve}` : type === 'rsa' ? `RSA ${d?.modulusLength}` : type;
  return `leaf key ${what} is not allowed (P-256, P-384, Ed25519 or RSA >= 3072)`;
}

export interface ValidatedSvid {
  ok: true;
  spiffeId: SpiffeId;
  leaf: Node;
  /** The anchor the path ended in. */
  anchor: X509Certificate;
  /** The latest notBefore and the earliest notAfter on the path (ms). */
  pathValidity: { notBefore: number; notAfter: number };
}

/**
 * Path validation plus the SPIFFE leaf rules, without the Margo role check (shared by verifyPeer and the
 * pinned-CA enrollment check). `purpose` selects the extended key usage a leaf must allow if it has one.
 */
export function validateSvidChain(input: {
  chainDer: readonly Uint8Array[];
  anchors: TrustAnchors;
  now: number;
  clockSkewSeconds?: number;
  purpose: 'client' | 'server';
}): ValidatedSvid | Failure {
  const skewMs = (input.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000;
  if (input.chainDer.length === 0) return fail('no-certificate', 'no client certificate was presented');
  if (input.chainDer.length > MAX_CHAIN)
    return fail('malformed', `chain longer than ${MAX_CHAIN} certificates`);
  const presented: Node[] = [];
  for (const [i, der] of input.chainDer.entries()) {
    try {
      const cert = parseCertificate(der);
      presented.push({ cert, info: certInfo(cert.raw) });
    } catch {
      return fail('malformed', `certificate ${i} of the presented chain could not be parsed`);
    }
  }
  const leaf = presented[0]!;
  const serialHex = leaf.info.serialHex;

  // 1. Build the path leaf -> ... -> anchor, checking every signature.
  const path: Node[] = [leaf];
  let anchor: X509Certificate | undefined;
  for (let depth = 0; depth < MAX_CHAIN && anchor === undefined; depth++) {
    const cur = path[path.length - 1]!.cert;
    anchor = input.anchors.certs.find((a) => signedBy(cur, a));
    if (anchor !== undefined) break;
    const next = presented.find((n) => !path.includes(n) && n.info.isCa && signedBy(cur, n.cert));
    if (next === undefined) {
      return fail(
        'wrong-ca',
        `"${describe(cur)}" is not signed by a trusted CA (issuer "${cur.issuer.replace(/\n/g, ', ')}")`,
        { serialHex },
      );
    }
    path.push(next);
  }
  if (anchor === undefined) return fail('wrong-ca', 'no path to a trusted CA', { serialHex });
  const anchorNode: Node = { cert: anchor, info: certInfo(anchor.raw) };
  const full = [...path, anchorNode];

  // 2. Every certificate on the path: well-formed, in its validity window, CAs within their path length.
  for (const [i, n] of full.entries()) {
    if (n.info.malformed)
      return fail('malformed', `"${describe(n.cert)}": ${n.info.malformed}`, { serialHex });
    if (input.now + skewMs < n.info.notBefore) {
      return fail(
        'not-yet-valid',
        `"${describe(n.cert)}" is not valid before ${new Date(n.info.notBefore).toISOString()}`,
        {
          serialHex,
        },
      );
    }
    if (input.now - skewMs > n.info.notAfter) {
      return fail('expired', `"${describe(n.cert)}" expired at ${new Date(n.info.notAfter).toISOString()}`, {
        serialHex,
      });
    }
    if (i > 0) {
      const below = i - 1; // intermediates between this CA and the leaf
      if (n.info.pathLength !== undefined && below > n.info.pathLength) {
        return fail('wrong-ca', `"${describe(n.cert)}" allows a path length of ${n.info.pathLength}`, {
          serialHex,
        });
      }
    }
  }

  // 3. The leaf is an SVID leaf (SPIFFE X509-SVID 4.1, 4.3, 4.4, 5.2).
  if (leaf.info.isCa)
    return fail('ca-leaf', 'the presented certificate is a CA (cA=true), not a leaf SVID', { serialHex });
  const ku = leaf.info.keyUsage;
  if (ku !== undefined) {
    if (ku & (KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign)) {
      return fail('bad-key-usage', 'leaf key usage includes keyCertSign or cRLSign', { serialHex });
    }
    if (!(ku & KEY_USAGE.digitalSignature)) {
      return fail('bad-key-usage', 'leaf key usage lacks digitalSignature', { serialHex });
    }
  }
  const eku = leaf.info.extKeyUsage;
  const neededEku = input.purpose === 'client' ? OID.clientAuth : OID.serverAuth;
  if (eku !== undefined && !eku.includes(neededEku) && !eku.includes('2.5.29.37.0')) {
    return fail(
      'bad-key-usage',
      `leaf extended key usage lacks ${input.purpose === 'client' ? 'clientAuth' : 'serverAuth'}`,
      {
        serialHex,
      },
    );
  }
  const keyIssue = keyProblem(leaf.cert);
  if (keyIssue) return fail('unsupported-key', keyIssue, { serialHex });

  // 4. Exactly one URI SAN, and it is a SPIFFE ID.
  const uris = leaf.info.uris;
  if (uris.length === 0) return fail('no-uri-san', 'leaf has no URI SAN (no SPIFFE ID)', { serialHex });
  if (uris.length > 1) {
    return fail('multiple-uri-sans', `leaf has ${uris.length} URI SANs; an SVID has exactly one`, {
      serialHex,
    });
  }
  const uri = uris[0]!;
  const problem = spiffeIdProblem(uri);
  if (problem !== undefined)
    return fail('wrong-form', `URI SAN "${uri}" is not a SPIFFE ID: it ${problem}`, { serialHex });
  const spiffeId = parseSpiffeId(uri);
  if (spiffeId.path === '') {
    return fail('wrong-form', `"${uri}" is a trust-domain ID; a leaf SVID needs a path`, {
      spiffeId: uri,
      serialHex,
    });
  }
  const pathValidity = {
    notBefore: Math.max(...full.map((n) => n.info.notBefore)),
    notAfter: Math.min(...full.map((n) => n.info.notAfter)),
  };
  return { ok: true, spiffeId, leaf, anchor, pathValidity };
}

/** Verifies a peer's chain and that its SPIFFE ID is exactly the expected Margo form. */
export function verifyPeer(input: VerifyPeerInput): VerifyPeerResult {
  const anchors = input.anchors ?? trustAnchors(input.anchorsPem ?? []);
  const { expect } = input;
  const v = validateSvidChain({
    chainDer: input.chainDer,
    anchors,
    now: input.now,
    clockSkewSeconds: input.clockSkewSeconds,
    purpose: expect.role === 'client' ? 'client' : 'server',
  });
  if (!v.ok) return v;
  const uri = v.spiffeId.uri;
  const serialHex = v.leaf.info.serialHex;
  const c = classifySpiffeId(v.spiffeId, expect);
  if (c.kind === 'other') {
    return fail(
      c.mismatch === 'trust-domain' ? 'wrong-trust-domain' : 'wrong-form',
      `"${uri}": ${c.reason}`,
      {
        spiffeId: uri,
        serialHex,
      },
    );
  }
  if (c.kind !== expect.role) {
    const want = expect.role === 'client' ? 'a client of this WFM' : 'this WFM';
    return fail('wrong-form', `"${uri}" is not ${want}`, { spiffeId: uri, serialHex });
  }
  return {
    ok: true,
    spiffeId: uri,
    role: expect.role,
    ...(c.kind === 'client' ? { clientId: c.clientId } : {}),
    serialHex,
    notAfter: v.leaf.info.notAfter,
    pathValidity: v.pathValidity,
  };
}
