import crypto from 'node:crypto';
import type { Authenticator } from '@nats-io/transport-node';
import { OutpostError } from '../errors/index.js';

/**
 * NATS user NKEYs (Ed25519) with node:crypto. The @nats-io/nkeys library derives keys and signs in
 * pure JavaScript (~20-40 ms per operation here), which is too slow to issue thousands of node users
 * or to sign every reconnect of a busy service; the encoding below is the same (prefix byte(s), raw
 * key, CRC-16/XMODEM little-endian, RFC 4648 base32 without padding), checked against the library
 * in nkeys.test.ts.
 */

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const PREFIX_USER = 20 << 3; // 'U'
const PREFIX_SEED = 18 << 3; // 'S'
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');

function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function base32Encode(data: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

function base32Decode(text: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error('not base32');
    value = (value << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function withCrc(payload: Buffer): string {
  const crc = crc16(payload);
  return base32Encode(Buffer.concat([payload, Buffer.from([crc & 0xff, crc >> 8])]));
}

function checked(text: string): Buffer {
  const raw = base32Decode(text);
  if (raw.length < 3) throw new Error('too short');
  const body = raw.subarray(0, raw.length - 2);
  const crc = raw[raw.length - 2]! | (raw[raw.length - 1]! << 8);
  if (crc16(body) !== crc) throw new Error('bad checksum');
  return body;
}

export function encodeUserPublicKey(raw: Uint8Array): string {
  return withCrc(Buffer.concat([Buffer.from([PREFIX_USER]), raw]));
}

export function encodeUserSeed(raw: Uint8Array): string {
  return withCrc(
    Buffer.concat([Buffer.from([PREFIX_SEED | (PREFIX_USER >> 5), (PREFIX_USER & 31) << 3]), raw]),
  );
}

/** The raw 32-byte Ed25519 seed of a user seed (`SU...`). */
export function decodeUserSeed(seed: string): Buffer {
  try {
    const body = checked(seed);
    if (
      body.length !== 34 ||
      body[0] !== (PREFIX_SEED | (PREFIX_USER >> 5)) ||
      body[1] !== (PREFIX_USER & 31) << 3
    ) {
      throw new Error('not a user seed');
    }
    return body.subarray(2);
  } catch (err) {
    throw new OutpostError('invalid-input', `not an NKEY user seed: ${(err as Error).message}`);
  }
}

export interface UserNkey {
  /** `U...` */
  publicKey: string;
  /** `SU...` */
  seed: string;
}

/** A new user NKEY. */
export function createUserNkey(): UserNkey {
  // JWK rather than DER: OpenSSL 3's DER encoders and decoders cost milliseconds per key.
  const jwk = crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return {
    publicKey: encodeUserPublicKey(Buffer.from(jwk.x!, 'base64url')),
    seed: encodeUserSeed(Buffer.from(jwk.d!, 'base64url')),
  };
}

function decodeUserPublicKey(publicKey: string): Buffer {
  if (!isUserPublicKey(publicKey))
    throw new OutpostError('invalid-input', `"${publicKey}" is not a public NKEY of a user (U...)`);
  return checked(publicKey).subarray(1);
}

function privateKeyOf(seed: string): crypto.KeyObject {
  return crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, decodeUserSeed(seed)]),
    format: 'der',
    type: 'pkcs8',
  });
}

export function publicKeyOfSeed(seed: string): string {
  const pub = crypto
    .createPublicKey(privateKeyOf(seed))
    .export({ format: 'der', type: 'spki' })
    .subarray(SPKI_ED25519.length);
  return encodeUserPublicKey(pub);
}

/** True for a well-formed user public key (`U...` with a valid checksum). */
export function isUserPublicKey(text: string): boolean {
  try {
    const body = checked(text);
    return body.length === 33 && body[0] === PREFIX_USER;
  } catch {
    return false;
  }
}

/**
 * A nats.js authenticator that signs the server's nonce with node:crypto. Pass the public key when it is
 * known (it is, after enrollment): deriving it from the seed costs a slow DER round trip.
 */
export function fastNkeyAuthenticator(seed: string, publicKey?: string): Authenticator {
  const nkey = publicKey ?? publicKeyOfSeed(seed);
  const key = crypto.createPrivateKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      d: decodeUserSeed(seed).toString('base64url'),
      x: decodeUserPublicKey(nkey).toString('base64url'),
    },
    format: 'jwk',
  });
  if (publicKey !== undefined) {
    const derived = crypto.createPublicKey(key).export({ format: 'jwk' }).x;
    if (derived !== decodeUserPublicKey(publicKey).toString('base64url')) {
      throw new OutpostError('invalid-input', `the NKEY seed does not belong to ${publicKey}`);
    }
  }
  return (nonce?: string) => ({
    nkey,
    sig: nonce ? crypto.sign(null, Buffer.from(nonce), key).toString('base64url') : '',
  });
}
