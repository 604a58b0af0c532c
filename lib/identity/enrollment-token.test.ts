import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createEnrollmentToken,
  enrollmentSecretMatches,
  hashEnrollmentSecret,
  isExpired,
  parseEnrollmentToken,
} from './enrollment-token.js';

const FP = `sha256:${'ab'.repeat(32)}`;
const EXP = Date.UTC(2026, 5, 2, 12, 0, 0);
const input = {
  siteId: 'plant-7',
  nodeName: 'press-line-3',
  tenantId: 'acme',
  caFingerprint: FP,
  lmmiUrl: 'https://lo.plant7.example:8443',
  expiresAt: EXP + 456, // sub-second part is dropped
};

describe('enrollment tokens', () => {
  it('round-trips, and only the secret hash is needed server-side', () => {
    const { token, secretHash, expiresAt } = createEnrollmentToken(input);
    expect(token).toMatch(/^opt1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{6}$/);
    expect(expiresAt).toBe(EXP);
    const parsed = parseEnrollmentToken(token);
    expect(parsed).toEqual({ ...input, expiresAt: EXP, secret: parsed.secret });
    expect(hashEnrollmentSecret(parsed.secret)).toBe(secretHash);
    expect(secretHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(token).not.toContain(secretHash.slice(7));
    expect(enrollmentSecretMatches(parsed.secret, secretHash)).toBe(true);
  });

  it('every token has a new secret', () => {
    const a = createEnrollmentToken(input);
    const b = createEnrollmentToken(input);
    expect(a.token).not.toBe(b.token);
    expect(a.secretHash).not.toBe(b.secretHash);
    expect(enrollmentSecretMatches(parseEnrollmentToken(a.token).secret, b.secretHash)).toBe(false);
  });

  it('survives copy-paste line breaks and surrounding spaces', () => {
    const { token } = createEnrollmentToken(input);
    const wrapped = `  ${token.slice(0, 50)}\n${token.slice(50, 120)}\r\n${token.slice(120)}\n`;
    expect(parseEnrollmentToken(wrapped).siteId).toBe('plant-7');
  });

  it('lmmiUrl is optional', () => {
    const { token } = createEnrollmentToken({ ...input, lmmiUrl: undefined });
    expect(parseEnrollmentToken(token)).not.toHaveProperty('lmmiUrl');
  });

  it.each([
    ['', /empty/],
    ['hello world', /should start with "opt1."/],
    ['opt2.aaaa.bbbb.cccc', /version "opt2" is not supported/],
    ['opt1.abc', /truncated or damaged: expected 4 parts/],
  ])('rejects junk %j', (token, message) => {
    expect(() => parseEnrollmentToken(token)).toThrow(
      expect.objectContaining({ code: 'identity/invalid-token', message: expect.stringMatching(message) }),
    );
  });

  it('catches any single-character typo and truncation (property)', () => {
    const { token } = createEnrollmentToken(input);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    fc.assert(
      fc.property(fc.integer({ min: 5, max: token.length - 1 }), fc.constantFrom(...alphabet), (i, ch) => {
        fc.pre(token[i] !== '.' && token[i] !== ch);
        const typo = token.slice(0, i) + ch + token.slice(i + 1);
        expect(() => parseEnrollmentToken(typo)).toThrow(
          expect.objectContaining({ code: 'identity/invalid-token' }),
        );
      }),
      { numRuns: 300 },
    );
    expect(() => parseEnrollmentToken(token.slice(0, -3))).toThrow(/checksum does not match/);
    expect(() => parseEnrollmentToken(token.replace(/\.([^.]+)$/, '.!!!!!!'))).toThrow(
      /characters a token never has/,
    );
  });

  it('refuses to mint from bad input', () => {
    expect(() => createEnrollmentToken({ ...input, caFingerprint: 'sha1:abc' })).toThrow(/fingerprint/);
    expect(() => createEnrollmentToken({ ...input, siteId: '' })).toThrow(/siteId/);
    expect(() => createEnrollmentToken({ ...input, nodeName: 'a b' })).toThrow(/nodeName/);
    expect(() => createEnrollmentToken({ ...input, lmmiUrl: 'http://lo:8080' })).toThrow(/https/);
    expect(() => createEnrollmentToken({ ...input, expiresAt: Number.NaN })).toThrow(/expiry/);
  });

  it('expiry is a plain comparison with the injected time', () => {
    const parsed = parseEnrollmentToken(createEnrollmentToken(input).token);
    expect(isExpired(parsed, EXP - 1)).toBe(false);
    expect(isExpired(parsed, EXP)).toBe(true);
  });

  it('secret hashing rejects anything but 32 base64url bytes', () => {
    expect(() => hashEnrollmentSecret('short')).toThrow(/32 bytes/);
    expect(enrollmentSecretMatches('short', `sha256:${'0'.repeat(64)}`)).toBe(false);
  });
});
