import { identityError } from './identity-error.js';

/**
 * SPIFFE IDs as Margo (MIAF, rc.3) uses them:
 *   WFM:        spiffe://<td>/margo/wfm/<wfm-id>
 *   WFM client: spiffe://<td>/margo/wfm/<wfm-id>/client/<wfm-client-id>
 *
 * Parsing follows the SPIFFE ID standard strictly (scheme `spiffe`, trust domain of lowercase letters,
 * digits, `.`, `-`, `_`; path segments of letters, digits, `.`, `-`, `_`, never empty, `.` or `..`; no
 * query, fragment, port, user info or percent-encoding; at most 2048 bytes). Margo says "RFC 3986
 * unreserved characters", which adds `~`; SPIFFE libraries reject `~`, so we do too (ADR 0140).
 * Comparison is exact and case-sensitive: we never normalise an ID.
 */

export interface SpiffeId {
  /** The ID exactly as given. */
  readonly uri: string;
  readonly trustDomain: string;
  /** `''` for a trust-domain ID, else `/seg/seg...`. */
  readonly path: string;
  readonly segments: readonly string[];
}

export type SpiffeIdClass =
  | { kind: 'client'; clientId: string }
  | { kind: 'wfm' }
  | { kind: 'other'; mismatch: 'invalid' | 'trust-domain' | 'form'; reason: string };

const SCHEME = 'spiffe://';
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN = 255;

export function isValidTrustDomain(td: string): boolean {
  return typeof td === 'string' && td.length <= MAX_TRUST_DOMAIN && TRUST_DOMAIN.test(td);
}

/** A valid SPIFFE path segment (and so a valid `wfm-id` or `wfm-client-id`). */
export function isValidSegment(segment: string): boolean {
  return typeof segment === 'string' && SEGMENT.test(segment) && segment !== '.' && segment !== '..';
}

/** Why a string is not a SPIFFE ID, or `undefined` when it is one. */
export function spiffeIdProblem(uri: string): string | undefined {
  if (typeof uri !== 'string') return 'not a string';
  if (Buffer.byteLength(uri) > MAX_ID_BYTES) return `longer than ${MAX_ID_BYTES} bytes`;
  if (!uri.startsWith(SCHEME)) return 'does not start with "spiffe://"';
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const td = slash === -1 ? rest : rest.slice(0, slash);
  if (td === '') return 'has an empty trust domain';
  if (td.length > MAX_TRUST_DOMAIN) return `has a trust domain longer than ${MAX_TRUST_DOMAIN} characters`;
  if (!TRUST_DOMAIN.test(td)) {
    return `has an invalid trust domain "${td}" (allowed: lowercase letters, digits, ".", "-", "_")`;
  }
  if (slash === -1) return undefined;
  const segments = rest.slice(slash + 1).split('/');
  for (const [i, seg] of segments.entries()) {
    if (seg === '') return i === segments.length - 1 ? 'ends with "/"' : 'has an empty path segment';
    if (seg === '.' || seg === '..') return `has a "${seg}" path segment`;
    if (!SEGMENT.test(seg)) {
      return `has an invalid path segment "${seg}" (allowed: letters, digits, ".", "-", "_")`;
    }
  }
  return undefined;
}

/** Parses a SPIFFE ID; throws `identity/invalid-spiffe-id` with the reason otherwise. */
export function parseSpiffeId(uri: string): SpiffeId {
  const problem = spiffeIdProblem(uri);
  if (problem !== undefined) {
    throw identityError('identity/invalid-spiffe-id', `"${String(uri)}" is not a SPIFFE ID: it ${problem}`, {
      data: { uri, problem },
    });
  }
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  return { uri, trustDomain, path, segments: path === '' ? [] : path.slice(1).split('/') };
}

function checkTrustDomain(td: string): void {
  if (!isValidTrustDomain(td)) {
    throw identityError(
      'identity/invalid-spiffe-id',
      `"${String(td)}" is not a valid trust domain (lowercase letters, digits, ".", "-", "_"; at most ${MAX_TRUST_DOMAIN})`,
      { data: { trustDomain: td } },
    );
  }
}

function checkSegment(value: string, what: string): void {
  if (!isValidSegment(value)) {
    throw identityError(
      'identity/invalid-spiffe-id',
      `"${String(value)}" is not a valid ${what} (letters, digits, ".", "-", "_"; not "." or "..")`,
      { data: { [what]: value } },
    );
  }
}

/** `spiffe://<td>/margo/wfm/<wfm-id>` */
export function wfmSpiffeId(trustDomain: string, wfmId: string): string {
  checkTrustDomain(trustDomain);
  checkSegment(wfmId, 'wfm-id');
  return `${SCHEME}${trustDomain}/margo/wfm/${wfmId}`;
}

/** `spiffe://<td>/margo/wfm/<wfm-id>/client/<client-id>` */
export function clientSpiffeId(trustDomain: string, wfmId: string, clientId: string): string {
  checkSegment(clientId, 'wfm-client-id');
  return `${wfmSpiffeId(trustDomain, wfmId)}/client/${clientId}`;
}

/** `spiffe://<td>`: the ID a signing (CA) certificate carries. */
export function trustDomainSpiffeId(trustDomain: string): string {
  checkTrustDomain(trustDomain);
  return `${SCHEME}${trustDomain}`;
}

/**
 * Says whether an ID is exactly this WFM's own ID, exactly one of its clients' IDs, or anything else
 * (with the reason). Exact, case-sensitive comparison of every part.
 */
export function classifySpiffeId(
  id: string | SpiffeId,
  expect: { trustDomain: string; wfmId: string },
): SpiffeIdClass {
  let parsed: SpiffeId;
  if (typeof id === 'string') {
    const problem = spiffeIdProblem(id);
    if (problem !== undefined)
      return { kind: 'other', mismatch: 'invalid', reason: `not a SPIFFE ID: it ${problem}` };
    parsed = parseSpiffeId(id);
  } else {
    parsed = id;
  }
  if (parsed.trustDomain !== expect.trustDomain) {
    return {
      kind: 'other',
      mismatch: 'trust-domain',
      reason: `trust domain "${parsed.trustDomain}" is not "${expect.trustDomain}"`,
    };
  }
  const s = parsed.segments;
  const isWfmPrefix = s[0] === 'margo' && s[1] === 'wfm' && s.length >= 3;
  if (!isWfmPrefix) {
    return {
      kind: 'other',
      mismatch: 'form',
      reason: `path "${parsed.path}" is not /margo/wfm/<wfm-id>[/client/<client-id>]`,
    };
  }
  if (s[2] !== expect.wfmId) {
    return { kind: 'other', mismatch: 'form', reason: `belongs to WFM "${s[2]}", not "${expect.wfmId}"` };
  }
  if (s.length === 3) return { kind: 'wfm' };
  if (s.length === 5 && s[3] === 'client') return { kind: 'client', clientId: s[4]! };
  return {
    kind: 'other',
    mismatch: 'form',
    reason: `path "${parsed.path}" is not /margo/wfm/${expect.wfmId} or /margo/wfm/${expect.wfmId}/client/<client-id>`,
  };
}

/** For an ID of the WFM form, its trust domain and wfm-id; used to derive what a client expects of its WFM. */
export function wfmOf(id: string): { trustDomain: string; wfmId: string } | undefined {
  if (spiffeIdProblem(id) !== undefined) return undefined;
  const p = parseSpiffeId(id);
  const s = p.segments;
  if (s[0] !== 'margo' || s[1] !== 'wfm' || s[2] === undefined) return undefined;
  if (s.length === 3 || (s.length === 5 && s[3] === 'client'))
    return { trustDomain: p.trustDomain, wfmId: s[2] };
  return undefined;
}
