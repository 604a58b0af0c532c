import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { identityError } from './identity-error.js';
import { FINGERPRINT_PATTERN } from './fingerprint.js';

/**
 * One-time enrollment tokens (ADR 0141): `opt1.<payload>.<secret>.<check>`, all base64url, so the token
 * survives copy-paste, a QR code and a text file on a USB stick.
 *   payload  JSON {s: siteId, n: nodeName, t: tenantId, f: CA fingerprint, e: expiry (unix seconds), u?: LO URL}
 *   secret   32 random bytes; the server stores only hashEnrollmentSecret(secret) and accepts it once
 *   check    first 4 bytes of SHA-256 over "opt1.<payload>.<secret>": catches typos and truncation early
 * The payload is for the node (where to go, which CA to pin); the server trusts only its own record found
 * by the secret's hash, never the payload.
 */

export interface EnrollmentTokenInput {
  siteId: string;
  nodeName: string;
  tenantId: string;
  /** The site CA's `sha256:<hex>` (caFingerprint). */
  caFingerprint: string;
  /** Where the node enrolls, e.g. `https://lo.plant-7.example:8443`. */
  lmmiUrl?: string;
  /** Milliseconds since the epoch; stored with one-second precision. */
  expiresAt: number;
}

export interface EnrollmentToken extends EnrollmentTokenInput {
  /** base64url of the 32 secret bytes: what the node proves possession of. */
  secret: string;
}

export const TOKEN_PREFIX = 'opt1';
const B64URL = /^[A-Za-z0-9_-]+$/;
/** No whitespace and no control characters (C0, DEL, C1). */
const PRINTABLE_NO_SPACE = /^[^\s\p{Cc}]+$/u;
const MAX_FIELD = 128;
const MAX_TOKEN_CHARS = 4096;

function b64url(buf: Buffer): string {
  return buf.toString('base64url');
}

function checksum(body: string): string {
  return b64url(createHash('sha256').update(body).digest().subarray(0, 4));
}

function invalid(message: string, data?: unknown): never {
  throw identityError('identity/invalid-token', message, data === undefined ? {} : { data });
}

function checkFields(t: Partial<EnrollmentTokenInput>): asserts t is EnrollmentTokenInput {
  for (const k of ['siteId', 'nodeName', 'tenantId'] as const) {
    const v = t[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FIELD || !PRINTABLE_NO_SPACE.test(v)) {
      invalid(`enrollment token ${k} must be 1 to ${MAX_FIELD} characters without spaces`, { field: k });
    }
  }
  if (typeof t.caFingerprint !== 'string' || !FINGERPRINT_PATTERN.test(t.caFingerprint)) {
    invalid('enrollment token CA fingerprint must be sha256:<64 lowercase hex digits>', {
      field: 'caFingerprint',
    });
  }
  if (typeof t.expiresAt !== 'number' || !Number.isFinite(t.expiresAt) || t.expiresAt <= 0) {
    invalid('enrollment token expiry must be a timestamp', { field: 'expiresAt' });
  }
  if (t.lmmiUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(t.lmmiUrl);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.protocol !== 'https:' || t.lmmiUrl.length > 512) {
      invalid(`enrollment URL "${t.lmmiUrl}" must be an absolute https:// URL`, { field: 'lmmiUrl' });
    }
  }
}

/** Mints a token. Show `token` to the operator once; store `secretHash` (and the inputs) server-side. */
export function createEnrollmentToken(input: EnrollmentTokenInput): {
  token: string;
  secretHash: string;
  expiresAt: number;
} {
  const fields = { ...input, caFingerprint: input.caFingerprint?.toLowerCase() };
  checkFields(fields);
  const expiresAt = Math.floor(fields.expiresAt / 1000) * 1000;
  const payload = {
    s: fields.siteId,
    n: fields.nodeName,
    t: fields.tenantId,
    f: fields.caFingerprint,
    e: expiresAt / 1000,
    ...(fields.lmmiUrl === undefined ? {} : { u: fields.lmmiUrl }),
  };
  const secret = b64url(randomBytes(32));
  const body = `${TOKEN_PREFIX}.${b64url(Buffer.from(JSON.stringify(payload)))}.${secret}`;
  return { token: `${body}.${checksum(body)}`, secretHash: hashEnrollmentSecret(secret), expiresAt };
}

/** Parses and checks a token's structure and checksum (not its expiry or whether it was used: the server's job). */
export function parseEnrollmentToken(token: string): EnrollmentToken {
  if (typeof token !== 'string') invalid('enrollment token must be a string');
  const compact = token.replace(/\s+/g, '');
  if (compact === '') invalid('enrollment token is empty');
  if (compact.length > MAX_TOKEN_CHARS)
    invalid('enrollment token is too long: this is not an enrollment token');
  const parts = compact.split('.');
  const version = parts[0] ?? '';
  if (version !== TOKEN_PREFIX) {
    if (/^opt\d+$/.test(version)) {
      invalid(
        `enrollment token version "${version}" is not supported by this version of Outpost (expected ${TOKEN_PREFIX})`,
      );
    }
    invalid(`not an Outpost enrollment token: it should start with "${TOKEN_PREFIX}."`);
  }
  if (parts.length !== 4) {
    invalid(
      `enrollment token is truncated or damaged: expected 4 parts separated by ".", found ${parts.length}`,
    );
  }
  const [, payloadB64, secret, check] = parts as [string, string, string, string];
  for (const [name, part] of [
    ['payload', payloadB64],
    ['secret', secret],
    ['checksum', check],
  ] as const) {
    if (!B64URL.test(part))
      invalid(`enrollment token ${name} contains characters a token never has (mistyped?)`);
  }
  if (checksum(`${TOKEN_PREFIX}.${payloadB64}.${secret}`) !== check) {
    invalid('enrollment token checksum does not match: it was mistyped or truncated');
  }
  if (Buffer.from(secret, 'base64url').length !== 32) invalid('enrollment token secret is not 32 bytes');
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(payloadB64, 'base64url').toString('utf8'));
  } catch {
    invalid('enrollment token payload is not valid JSON');
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    invalid('enrollment token payload is not an object');
  }
  const p = payload as Record<string, unknown>;
  const fields = {
    siteId: p.s as string,
    nodeName: p.n as string,
    tenantId: p.t as string,
    caFingerprint: p.f as string,
    expiresAt: typeof p.e === 'number' && Number.isInteger(p.e) ? p.e * 1000 : Number.NaN,
    ...(p.u === undefined ? {} : { lmmiUrl: p.u as string }),
  };
  checkFields(fields);
  return { ...fields, secret };
}

/** `sha256:<hex>` of the secret's 32 bytes. The secret has 256 bits of entropy, so no slow KDF is needed. */
export function hashEnrollmentSecret(secret: string): string {
  const raw =
    typeof secret === 'string' && B64URL.test(secret) ? Buffer.from(secret, 'base64url') : Buffer.alloc(0);
  if (raw.length !== 32) invalid('enrollment secret must be 32 bytes in base64url');
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function enrollmentSecretMatches(secret: string, storedHash: string): boolean {
  let presented: string;
  try {
    presented = hashEnrollmentSecret(secret);
  } catch {
    return false;
  }
  const a = Buffer.from(presented);
  const b = Buffer.from(storedHash);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True from the expiry instant on. `now` in milliseconds since the epoch. */
export function isExpired(token: { expiresAt: number }, now: number): boolean {
  return now >= token.expiresAt;
}
