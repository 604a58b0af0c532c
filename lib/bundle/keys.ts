import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { bundleError } from './errors.js';
import {
  formatPublicKey,
  formatSecretKey,
  parsePublicKey,
  parseSecretKey,
  publicKeyOf,
  signMessage,
  type MinisignSignature,
  type PublicKey,
  type SecretKey,
} from './minisign.js';

/**
 * Key files, signers and the trust the reader checks against (ADR 0402, 0403).
 *
 * The secret key is stored in minisign's unencrypted secret-key format, mode 0600, so an operator can
 * also sign with `minisign -S -s FILE`. Where the host offers a keychain (Electron's safeStorage on the
 * desktop) the control plane stores `formatSecretKey()`'s text encrypted with it instead of using
 * these file helpers.
 */

/** Signs a bundle index. Our own key, or anything else that produces a minisign signature (`minisign -S`). */
export interface BundleSigner {
  /** The signer's public key: the writer checks each signature with it before writing it. */
  readonly publicKey: PublicKey;
  /** Must sign with exactly `trustedComment` (the writer checks) and may use either algorithm. */
  sign(message: Uint8Array, trustedComment: string): MinisignSignature | Promise<MinisignSignature>;
}

/** A signer for a secret key held in memory (prehashed `ED` signatures, as `minisign -S`). */
export function keySigner(key: SecretKey): BundleSigner {
  return {
    publicKey: publicKeyOf(key),
    sign: (message, trustedComment) => signMessage(message, key, { trustedComment }),
  };
}

/** A key the reader accepts bundles from. */
export interface TrustedKey {
  publicKey: PublicKey;
  /** The operator's name for it (`hq`, `site-a lo`). */
  name?: string;
  /**
   * Pinned for one site: status bundles signed by it must come from that site, HQ bundles signed by it
   * must be for that site. Unset: any site (HQ's key as a site pins it).
   */
  site?: string;
}

/** What the caller trusts: pinned keys, and key ids it removed (refused even when a rotation leads to them). */
export interface Trust {
  keys: readonly TrustedKey[];
  removed?: readonly string[];
}

function writeAtomically(file: string, text: string, mode: number, force: boolean): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!force && fs.existsSync(file)) throw bundleError('already-exists', `${file} already exists`);
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.chmodSync(tmp, mode); // the open mode passes through the umask: make it exact
    if (force) fs.renameSync(tmp, file);
    else {
      // A hard link fails if the name appeared meanwhile, where a rename would replace it.
      try {
        fs.linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST')
          throw bundleError('already-exists', `${file} already exists`);
        throw err;
      }
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Writes the secret key (minisign format, unencrypted) with mode 0600; never replaces a file unless `force`. */
export function writeSecretKeyFile(file: string, key: SecretKey, options: { force?: boolean } = {}): void {
  writeAtomically(file, formatSecretKey(key), 0o600, options.force ?? false);
}

/** Reads a secret key file; refuses one that other users can read (as ssh does). */
export function readSecretKeyFile(file: string): SecretKey {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
      throw bundleError(
        'bundle/insecure-key-file',
        `${file} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${file}`,
      );
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw bundleError('bundle/invalid-key', `${file} does not exist`);
    throw err;
  }
  return parseSecretKey(text);
}

export function writePublicKeyFile(file: string, key: PublicKey, options: { force?: boolean } = {}): void {
  writeAtomically(file, formatPublicKey(key), 0o644, options.force ?? false);
}

export function readPublicKeyFile(file: string): PublicKey {
  let text: string;
  try {
    if (fs.statSync(file).size > 4096)
      throw bundleError('bundle/invalid-key', `${file} is not a public key file`);
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw bundleError('bundle/invalid-key', `${file} does not exist`);
    throw err;
  }
  return parsePublicKey(text);
}
