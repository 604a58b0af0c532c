import crypto from 'node:crypto';
import fs from 'node:fs';
import { blake2b } from './blake2b.js';
import { bundleError } from './errors.js';

/**
 * minisign's key and signature formats (https://jedisct1.github.io/minisign/), with node:crypto's
 * Ed25519, so Debian's `minisign` is an independent verifier of what we sign and an independent signer
 * of what we accept (ADR 0403).
 *
 * - Public key: `untrusted comment: ...` then base64 of `Ed` + key id (8 bytes) + Ed25519 key (32).
 * - Secret key: minisign's own layout, unencrypted (`minisign -G -W`): base64 of `Ed`, KDF `\0\0`,
 *   checksum algorithm `B2`, 32 zero salt bytes, two zero KDF limits, then key id, the 64-byte
 *   libsodium secret key (seed + public key) and a BLAKE2b-256 checksum of algorithm + key id + key
 *   (which minisign itself fills in only for encrypted keys, and checks only after decrypting).
 * - Signature: untrusted comment, base64 of algorithm (`ED` prehashed with BLAKE2b-512, or legacy `Ed`
 *   over the raw message) + key id + signature, `trusted comment: ...`, base64 of the global signature
 *   (Ed25519 of signature + trusted comment bytes).
 *
 * A key id is shown as minisign shows it: 16 upper-case hex digits of the little-endian 64-bit number.
 */

export interface PublicKey {
  /** minisign's key id, as `minisign` prints it (16 upper-case hex digits). */
  keyId: string;
  /** The raw 32-byte Ed25519 public key. */
  key: Buffer;
}

export interface SecretKey extends PublicKey {
  /** The 32-byte Ed25519 seed (private key). */
  seed: Buffer;
}

export type SignatureAlgorithm = 'ED' | 'Ed';

export interface MinisignSignature {
  /** `ED`: Ed25519 over BLAKE2b-512 of the message (minisign's default); `Ed`: over the message (legacy). */
  algorithm: SignatureAlgorithm;
  keyId: string;
  signature: Buffer;
  /** Not signed: anyone can change it. */
  untrustedComment: string;
  /** Signed by the global signature; `minisign -V` prints it. */
  trustedComment: string;
  globalSignature: Buffer;
}

const UNTRUSTED = 'untrusted comment: ';
const TRUSTED = 'trusted comment: ';
/** minisign's limits: COMMENTMAXBYTES (the whole untrusted line) and TRUSTEDCOMMENTMAXBYTES. */
export const MAX_UNTRUSTED_COMMENT_BYTES = 1024 - UNTRUSTED.length - 2;
export const MAX_TRUSTED_COMMENT_BYTES = 8192 - TRUSTED.length - 2;

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const KDF_NONE = Buffer.from([0, 0]);
const KDF_SCRYPT = Buffer.from('Sc', 'latin1');
const SECRET_KEY_BYTES = 158;

const KEY_ID = /^[0-9A-F]{16}$/;

export function isKeyId(s: unknown): s is string {
  return typeof s === 'string' && KEY_ID.test(s);
}

/** The 8 key-id bytes as stored (little-endian) to the printed form, and back. */
function keyIdOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).reverse().toString('hex').toUpperCase();
}
function keyIdBytes(keyId: string): Buffer {
  if (!isKeyId(keyId)) throw bundleError('bundle/invalid-key', `"${keyId}" is not a key id (16 hex digits)`);
  return Buffer.from(keyId, 'hex').reverse();
}

/** Strict base64: the canonical encoding only (Node's decoder silently skips stray characters). */
function strictBase64(
  text: string,
  what: string,
  code: 'bundle/invalid-key' | 'bundle/bad-signature',
): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || bytes.toString('base64') !== text)
    throw bundleError(code, `${what} is not valid base64`);
  return bytes;
}

function privateKeyObject(seed: Buffer): crypto.KeyObject {
  return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(key: Buffer): crypto.KeyObject {
  return crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519, key]), format: 'der', type: 'spki' });
}

function publicFromSeed(seed: Buffer): Buffer {
  const spki = crypto.createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return Buffer.from(spki.subarray(spki.length - 32));
}

/** A new Ed25519 key pair with a random minisign key id. */
export function generateKeyPair(): SecretKey {
  const seed = crypto.randomBytes(32);
  return { keyId: keyIdOf(crypto.randomBytes(8)), key: publicFromSeed(seed), seed };
}

export function publicKeyOf(key: PublicKey): PublicKey {
  return { keyId: key.keyId, key: Buffer.from(key.key) };
}

/** `sha256:<64 hex>` of the raw public key: what an operator compares out of band before pinning. */
export function fingerprint(key: PublicKey): string {
  return `sha256:${crypto.createHash('sha256').update(key.key).digest('hex')}`;
}

/** The base64 line of a public key (what `minisign -P` takes). */
export function publicKeyBase64(key: PublicKey): string {
  return Buffer.concat([Buffer.from('Ed', 'latin1'), keyIdBytes(key.keyId), key.key]).toString('base64');
}

/** minisign's public-key file. */
export function formatPublicKey(key: PublicKey): string {
  return `${UNTRUSTED}minisign public key ${key.keyId}\n${publicKeyBase64(key)}\n`;
}

/** Reads a public-key file (comment line + key line) or a bare base64 key line. */
export function parsePublicKey(text: string): PublicKey {
  const lines = splitLines(text);
  let line: string | undefined;
  if (lines.length === 1) line = lines[0];
  else if (lines.length === 2 && lines[0]!.startsWith(UNTRUSTED)) line = lines[1];
  if (line === undefined)
    throw bundleError(
      'bundle/invalid-key',
      'not a minisign public key (expected an "untrusted comment:" line and a base64 key line)',
    );
  const bytes = strictBase64(line, 'the public key', 'bundle/invalid-key');
  if (bytes.length !== 42) throw bundleError('bundle/invalid-key', 'the public key has the wrong length');
  if (bytes.toString('latin1', 0, 2) !== 'Ed')
    throw bundleError('bundle/invalid-key', 'the public key is not an Ed25519 minisign key');
  return { keyId: keyIdOf(bytes.subarray(2, 10)), key: Buffer.from(bytes.subarray(10)) };
}

/** minisign's checksum of a secret key: BLAKE2b-256 of algorithm + key id + 64-byte secret key. */
function secretKeyChecksum(keyIdLe: Buffer, sk64: Buffer): Buffer {
  return blake2b(Buffer.concat([Buffer.from('Ed', 'latin1'), keyIdLe, sk64]), 32);
}

/** minisign's secret-key file, unencrypted (as `minisign -G -W` writes it): keep it mode 0600. */
export function formatSecretKey(key: SecretKey): string {
  const id = keyIdBytes(key.keyId);
  const sk64 = Buffer.concat([key.seed, key.key]);
  const bytes = Buffer.concat([
    Buffer.from('Ed', 'latin1'),
    KDF_NONE,
    Buffer.from('B2', 'latin1'),
    Buffer.alloc(32), // salt: unused without a KDF
    Buffer.alloc(16), // KDF ops and memory limits: unused
    id,
    sk64,
    secretKeyChecksum(id, sk64),
  ]);
  return `${UNTRUSTED}minisign secret key, not encrypted (outpost bundle signing key ${key.keyId})\n${bytes.toString('base64')}\n`;
}

/** Reads minisign's unencrypted secret-key file; checks its checksum and that the halves match. */
export function parseSecretKey(text: string): SecretKey {
  const lines = splitLines(text);
  if (lines.length !== 2 || !lines[0]!.startsWith(UNTRUSTED))
    throw bundleError('bundle/invalid-key', 'not a minisign secret key file');
  const bytes = strictBase64(lines[1]!, 'the secret key', 'bundle/invalid-key');
  if (bytes.length !== SECRET_KEY_BYTES || bytes.toString('latin1', 0, 2) !== 'Ed')
    throw bundleError('bundle/invalid-key', 'not an Ed25519 minisign secret key');
  const kdf = bytes.subarray(2, 4);
  if (kdf.equals(KDF_SCRYPT))
    throw bundleError(
      'bundle/invalid-key',
      'the secret key is encrypted with a password; remove the password with `minisign -C -W -s FILE`',
    );
  if (!kdf.equals(KDF_NONE) || bytes.toString('latin1', 4, 6) !== 'B2')
    throw bundleError('bundle/invalid-key', 'the secret key uses an unknown key derivation or checksum');
  const id = bytes.subarray(54, 62);
  const sk64 = bytes.subarray(62, 126);
  // minisign computes the checksum only when it encrypts a key: `-G -W` leaves it zero. We write it,
  // and check it when present; the public half below is checked either way.
  const chk = bytes.subarray(126, 158);
  if (!isAllZero(chk) && !secretKeyChecksum(Buffer.from(id), Buffer.from(sk64)).equals(chk))
    throw bundleError('bundle/invalid-key', 'the secret key checksum does not match (damaged file)');
  const seed = Buffer.from(sk64.subarray(0, 32));
  const key = Buffer.from(sk64.subarray(32));
  if (!publicFromSeed(seed).equals(key))
    throw bundleError('bundle/invalid-key', 'the secret key does not match its public half (damaged file)');
  return { keyId: keyIdOf(id), key, seed };
}

function checkComment(comment: string, max: number, what: string): void {
  if (/[\r\n]/.test(comment)) throw bundleError('invalid-input', `the ${what} must be one line`);
  if (Buffer.byteLength(comment) > max)
    throw bundleError('invalid-input', `the ${what} is longer than ${max} bytes`);
}

export interface SignOptions {
  trustedComment: string;
  untrustedComment?: string;
  /** `ED` (default, what `minisign -S` writes) or the legacy `Ed`. */
  algorithm?: SignatureAlgorithm;
}

/** Signs `message` the way `minisign -S` does. */
export function signMessage(message: Uint8Array, key: SecretKey, options: SignOptions): MinisignSignature {
  const algorithm = options.algorithm ?? 'ED';
  const untrustedComment = options.untrustedComment ?? 'signature from minisign secret key';
  checkComment(options.trustedComment, MAX_TRUSTED_COMMENT_BYTES, 'trusted comment');
  checkComment(untrustedComment, MAX_UNTRUSTED_COMMENT_BYTES, 'untrusted comment');
  const priv = privateKeyObject(key.seed);
  const signed = algorithm === 'ED' ? crypto.createHash('blake2b512').update(message).digest() : message;
  const signature = crypto.sign(null, signed, priv);
  const globalSignature = crypto.sign(
    null,
    Buffer.concat([signature, Buffer.from(options.trustedComment, 'utf8')]),
    priv,
  );
  return {
    algorithm,
    keyId: key.keyId,
    signature,
    untrustedComment,
    trustedComment: options.trustedComment,
    globalSignature,
  };
}

/** minisign's signature file. */
export function formatSignature(sig: MinisignSignature): string {
  const line = Buffer.concat([Buffer.from(sig.algorithm, 'latin1'), keyIdBytes(sig.keyId), sig.signature]);
  return (
    `${UNTRUSTED}${sig.untrustedComment}\n${line.toString('base64')}\n` +
    `${TRUSTED}${sig.trustedComment}\n${sig.globalSignature.toString('base64')}\n`
  );
}

/** Reads a minisign signature file (LF or CRLF line ends, final newline optional). */
export function parseSignature(text: string): MinisignSignature {
  const lines = splitLines(text);
  if (lines.length !== 4 || !lines[0]!.startsWith(UNTRUSTED) || !lines[2]!.startsWith(TRUSTED))
    throw bundleError('bundle/bad-signature', 'not a minisign signature file (expected four lines)');
  const untrustedComment = lines[0]!.slice(UNTRUSTED.length);
  const trustedComment = lines[2]!.slice(TRUSTED.length);
  if (Buffer.byteLength(trustedComment) > MAX_TRUSTED_COMMENT_BYTES)
    throw bundleError('bundle/bad-signature', 'the trusted comment is too long');
  if (Buffer.byteLength(untrustedComment) > MAX_UNTRUSTED_COMMENT_BYTES)
    throw bundleError('bundle/bad-signature', 'the untrusted comment is too long');
  const line = strictBase64(lines[1]!, 'the signature', 'bundle/bad-signature');
  const global = strictBase64(lines[3]!, 'the global signature', 'bundle/bad-signature');
  if (line.length !== 74 || global.length !== 64)
    throw bundleError('bundle/bad-signature', 'the signature has the wrong length');
  const algorithm = line.toString('latin1', 0, 2);
  if (algorithm !== 'ED' && algorithm !== 'Ed')
    throw bundleError('bundle/bad-signature', `unknown signature algorithm "${algorithm}"`);
  return {
    algorithm,
    keyId: keyIdOf(line.subarray(2, 10)),
    signature: Buffer.from(line.subarray(10)),
    untrustedComment,
    trustedComment,
    globalSignature: global,
  };
}

/**
 * Checks `sig` over a message, given either the message itself or (for `ED` signatures of large
 * files) its BLAKE2b-512 `prehash`. Throws `bundle/bad-signature` naming what failed.
 */
export function verifySignature(
  message: { bytes: Uint8Array } | { prehash: Uint8Array },
  sig: MinisignSignature,
  key: PublicKey,
): void {
  if (sig.keyId !== key.keyId)
    throw bundleError('bundle/bad-signature', `signed by key ${sig.keyId}, not by key ${key.keyId}`);
  let signed: Uint8Array;
  if (sig.algorithm === 'ED')
    signed =
      'prehash' in message ? message.prehash : crypto.createHash('blake2b512').update(message.bytes).digest();
  else if ('bytes' in message) signed = message.bytes;
  else throw bundleError('bundle/bad-signature', 'a legacy (Ed) signature needs the whole message');
  const pub = publicKeyObject(key.key);
  if (!crypto.verify(null, signed, pub, sig.signature))
    throw bundleError('bundle/bad-signature', `the signature by key ${key.keyId} does not verify`);
  const comment = Buffer.concat([sig.signature, Buffer.from(sig.trustedComment, 'utf8')]);
  if (!crypto.verify(null, comment, pub, sig.globalSignature))
    throw bundleError(
      'bundle/bad-signature',
      `the trusted comment signed by key ${key.keyId} does not verify`,
    );
}

/** Legacy signatures cover the whole message in memory: files above this need `ED` (as minisign's 1 GB). */
const LEGACY_FILE_LIMIT = 1 << 30;

/** Verifies a signature of a file, streaming it through BLAKE2b-512 for `ED` signatures. */
export async function verifyFileSignature(
  file: string,
  sig: MinisignSignature,
  key: PublicKey,
): Promise<void> {
  if (sig.algorithm === 'Ed') {
    const size = (await fs.promises.stat(file)).size;
    if (size > LEGACY_FILE_LIMIT)
      throw bundleError(
        'bundle/bad-signature',
        'legacy (Ed) signatures of files above 1 GiB are not supported',
      );
    verifySignature({ bytes: await fs.promises.readFile(file) }, sig, key);
    return;
  }
  const h = crypto.createHash('blake2b512');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)
    h.update(chunk);
  verifySignature({ prehash: h.digest() }, sig, key);
}

function isAllZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/** Lines of a small text file: LF or CRLF, a final newline optional, nothing after it. */
function splitLines(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
