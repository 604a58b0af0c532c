import type { X509Certificate } from 'node:crypto';
import { identityError } from './identity-error.js';
import { derToPem, parseCertificate, splitCertificatesPem } from './pem.js';
import { isValidTrustDomain } from './spiffe-id.js';

/**
 * The Margo Trust Bundle API (rc.3) documents: the SPIFFE bundle (a JWK Set of x509-svid authorities) and
 * the `/.well-known/margo` discovery document, built by the WFM/MIS and parsed by clients following the
 * client rules: fail closed on zero X.509 anchors, ignore jwt-svid keys, reject a regressed sequence,
 * replace the anchors (never merge), ignore unknown fields, require an https bundle URI.
 */

export interface SpiffeBundleKey {
  kty: string;
  use: string;
  x5c?: string[];
  [member: string]: unknown;
}

export interface SpiffeBundle {
  keys: SpiffeBundleKey[];
  spiffe_sequence?: number;
  spiffe_refresh_hint?: number;
  [member: string]: unknown;
}

export interface ParsedTrustBundle {
  /** The complete new set of anchors: replace the old set with it, never merge. */
  anchorsPem: string[];
  sequence: number | undefined;
  refreshHintSeconds: number | undefined;
}

export interface DiscoveryDocument {
  trustDomain: string;
  trustBundleUri: string;
}

function isNonNegativeInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function bundleError(message: string): never {
  throw identityError('identity/invalid-trust-bundle', message);
}

function jwkOf(cert: X509Certificate): Record<string, unknown> {
  const jwk = cert.publicKey.export({ format: 'jwk' }) as Record<string, unknown>;
  return jwk;
}

/** Builds the SPIFFE bundle served at the trust bundle URI (ETag/304 are the HTTP layer's job). */
export function buildTrustBundle(input: {
  anchorsPem: readonly string[];
  sequence: number;
  refreshHintSeconds: number;
}): SpiffeBundle {
  if (!isNonNegativeInteger(input.sequence)) {
    throw identityError('identity/invalid-trust-bundle', 'spiffe_sequence must be a non-negative integer');
  }
  if (!isNonNegativeInteger(input.refreshHintSeconds) || input.refreshHintSeconds === 0) {
    throw identityError(
      'identity/invalid-trust-bundle',
      'spiffe_refresh_hint must be a positive number of seconds',
    );
  }
  const certs = input.anchorsPem
    .flatMap((p) => splitCertificatesPem(p))
    .map((p) => parseCertificate(p, 'trust anchor'));
  if (certs.length === 0)
    throw identityError('identity/invalid-trust-bundle', 'a trust bundle needs at least one anchor');
  const seen = new Set<string>();
  const keys: SpiffeBundleKey[] = [];
  for (const cert of certs) {
    if (!cert.ca)
      throw identityError('identity/invalid-trust-bundle', 'a trust bundle anchor must be a CA certificate');
    const b64 = cert.raw.toString('base64');
    if (seen.has(b64)) continue;
    seen.add(b64);
    const { kty, ...rest } = jwkOf(cert);
    keys.push({ kty: String(kty), ...rest, use: 'x509-svid', x5c: [b64] });
  }
  return { keys, spiffe_sequence: input.sequence, spiffe_refresh_hint: input.refreshHintSeconds };
}

/**
 * Parses a SPIFFE bundle as a Margo client must. Throws `identity/invalid-trust-bundle` (keep the current
 * bundle) or `identity/trust-bundle-regressed` when `spiffe_sequence` is below `previousSequence`.
 */
export function parseTrustBundle(
  json: unknown,
  options: { previousSequence?: number } = {},
): ParsedTrustBundle {
  let doc: unknown = json;
  if (typeof json === 'string' || Buffer.isBuffer(json)) {
    try {
      doc = JSON.parse(json.toString());
    } catch {
      bundleError('trust bundle is not valid JSON');
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    bundleError('trust bundle is not a JSON object');
  const b = doc as Record<string, unknown>;
  if (!Array.isArray(b.keys)) bundleError('trust bundle has no "keys" array');
  const seq = b.spiffe_sequence;
  if (seq !== undefined && !isNonNegativeInteger(seq))
    bundleError('spiffe_sequence must be a non-negative integer');
  const hint = b.spiffe_refresh_hint;
  if (hint !== undefined && !isNonNegativeInteger(hint))
    bundleError('spiffe_refresh_hint must be a non-negative integer');
  if (options.previousSequence !== undefined && seq !== undefined && seq < options.previousSequence) {
    throw identityError(
      'identity/trust-bundle-regressed',
      `trust bundle sequence ${seq} is older than the current ${options.previousSequence}; keeping the current bundle`,
      { data: { sequence: seq, previousSequence: options.previousSequence } },
    );
  }
  const anchorsPem: string[] = [];
  for (const [i, key] of b.keys.entries()) {
    if (key === null || typeof key !== 'object') bundleError(`trust bundle key ${i} is not an object`);
    const k = key as Record<string, unknown>;
    if (k.use !== 'x509-svid') continue; // jwt-svid and unknown uses: not ours
    // SPIFFE X509-SVID 6.2: an entry without x5c is ignored; only the first x5c value counts.
    if (!Array.isArray(k.x5c) || k.x5c.length === 0) continue;
    const first = k.x5c[0];
    if (typeof first !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(first)) {
      bundleError(`trust bundle key ${i}: x5c[0] is not base64`);
    }
    let cert: X509Certificate;
    try {
      cert = parseCertificate(Buffer.from(first, 'base64'));
    } catch {
      bundleError(`trust bundle key ${i}: x5c[0] is not an X.509 certificate`);
    }
    if (!cert.ca) bundleError(`trust bundle key ${i}: x5c[0] is not a CA certificate`);
    const jwk = jwkOf(cert);
    for (const member of ['kty', 'crv', 'x', 'y', 'n', 'e']) {
      if (k[member] !== undefined && jwk[member] !== undefined && k[member] !== jwk[member]) {
        bundleError(`trust bundle key ${i}: "${member}" does not match the key of its x5c certificate`);
      }
    }
    const pem = derToPem(cert.raw, 'CERTIFICATE');
    if (!anchorsPem.includes(pem)) anchorsPem.push(pem);
  }
  if (anchorsPem.length === 0) bundleError('trust bundle holds no x509-svid anchors (failing closed)');
  return { anchorsPem, sequence: seq, refreshHintSeconds: hint };
}

function checkDiscovery(trustDomain: unknown, trustBundleUri: unknown): DiscoveryDocument {
  if (typeof trustDomain !== 'string' || !isValidTrustDomain(trustDomain)) {
    throw identityError(
      'identity/invalid-discovery-document',
      `trustDomain "${String(trustDomain)}" is not a trust domain`,
    );
  }
  let url: URL | undefined;
  try {
    url = typeof trustBundleUri === 'string' ? new URL(trustBundleUri) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined) {
    throw identityError(
      'identity/invalid-discovery-document',
      `trustBundleUri "${String(trustBundleUri)}" is not an absolute URL`,
    );
  }
  if (url.protocol !== 'https:') {
    throw identityError(
      'identity/invalid-discovery-document',
      `trustBundleUri "${String(trustBundleUri)}" is not https`,
    );
  }
  return { trustDomain, trustBundleUri: trustBundleUri as string };
}

/** The `/.well-known/margo` document. */
export function wellKnownMargo(input: DiscoveryDocument): DiscoveryDocument {
  return checkDiscovery(input.trustDomain, input.trustBundleUri);
}

/**
 * Parses a `/.well-known/margo` document: ignores unknown fields, rejects a non-https trustBundleUri, and
 * (when `expectTrustDomain`, the trust domain of the client's own SVID, is given) a different trust domain.
 */
export function parseWellKnownMargo(
  json: unknown,
  options: { expectTrustDomain?: string } = {},
): DiscoveryDocument {
  let doc: unknown = json;
  if (typeof json === 'string' || Buffer.isBuffer(json)) {
    try {
      doc = JSON.parse(json.toString());
    } catch {
      throw identityError('identity/invalid-discovery-document', 'discovery document is not valid JSON');
    }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw identityError('identity/invalid-discovery-document', 'discovery document is not a JSON object');
  }
  const d = doc as Record<string, unknown>;
  const parsed = checkDiscovery(d.trustDomain, d.trustBundleUri);
  if (options.expectTrustDomain !== undefined && parsed.trustDomain !== options.expectTrustDomain) {
    throw identityError(
      'identity/invalid-discovery-document',
      `discovery document is for trust domain "${parsed.trustDomain}", not "${options.expectTrustDomain}"`,
    );
  }
  return parsed;
}
