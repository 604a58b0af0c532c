import { describe, expect, it } from 'vitest';
import { createUser, fromPublic, fromSeed } from '@nats-io/nkeys';
import {
  createUserNkey,
  decodeUserSeed,
  fastNkeyAuthenticator,
  isUserPublicKey,
  publicKeyOfSeed,
} from './nkeys.js';

const te = new TextEncoder();

describe('NKEYs with node:crypto', () => {
  it('produces keys the nkeys library reads identically', () => {
    const k = createUserNkey();
    expect(k.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
    expect(k.seed).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(fromSeed(te.encode(k.seed)).getPublicKey()).toBe(k.publicKey);
    expect(fromPublic(k.publicKey).getPublicKey()).toBe(k.publicKey);
  });

  it("reads the library's seeds and signs what the library verifies", () => {
    const lib = createUser();
    const seed = new TextDecoder().decode(lib.getSeed());
    expect(publicKeyOfSeed(seed)).toBe(lib.getPublicKey());
    const auth = fastNkeyAuthenticator(seed)('nonce-123') as { nkey: string; sig: string };
    expect(auth.nkey).toBe(lib.getPublicKey());
    expect(lib.verify(te.encode('nonce-123'), Buffer.from(auth.sig, 'base64url'))).toBe(true);
    const withKey = fastNkeyAuthenticator(seed, lib.getPublicKey())('n2') as { nkey: string; sig: string };
    expect(lib.verify(te.encode('n2'), Buffer.from(withKey.sig, 'base64url'))).toBe(true);
    expect(() => fastNkeyAuthenticator(seed, createUserNkey().publicKey)).toThrow(/does not belong/);
  });

  it('rejects damaged or foreign keys', () => {
    const k = createUserNkey();
    const flipped = k.seed.slice(0, 10) + (k.seed[10] === 'A' ? 'B' : 'A') + k.seed.slice(11);
    expect(() => decodeUserSeed(flipped)).toThrow(/checksum/);
    expect(isUserPublicKey(k.publicKey)).toBe(true);
    expect(isUserPublicKey(k.seed)).toBe(false);
    expect(isUserPublicKey('U' + 'A'.repeat(55))).toBe(false);
    expect(decodeUserSeed(k.seed)).toHaveLength(32);
  });
});
