import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutpostError } from '../errors/index.js';
import { blake2b } from './blake2b.js';
import {
  fingerprint,
  formatPublicKey,
  formatSecretKey,
  formatSignature,
  generateKeyPair,
  parsePublicKey,
  parseSecretKey,
  parseSignature,
  publicKeyBase64,
  signMessage,
  verifyFileSignature,
  verifySignature,
} from './minisign.js';
import { readSecretKeyFile, writePublicKeyFile, writeSecretKeyFile } from './keys.js';
import { tempDir } from './test-helpers.js';

function minisign(args: string[]): { status: number | null; out: string } {
  const r = spawnSync('minisign', args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('BLAKE2b', () => {
  it('gives the RFC 7693 test vector and the known 256-bit digest of "abc"', () => {
    expect(blake2b(Buffer.from('abc'), 64).toString('hex')).toBe(
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    );
    expect(blake2b(Buffer.from('abc'), 32).toString('hex')).toBe(
      'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319',
    );
  });

  it('matches node:crypto blake2b512 at every block boundary', () => {
    for (const n of [0, 1, 111, 127, 128, 129, 255, 256, 257, 1000]) {
      const b = crypto.randomBytes(n);
      expect(blake2b(b, 64).toString('hex'), `length ${n}`).toBe(
        crypto.createHash('blake2b512').update(b).digest('hex'),
      );
    }
  });
});

describe('minisign formats', () => {
  it('round-trips keys and signatures, and shows key ids the way minisign does', () => {
    const key = generateKeyPair();
    expect(key.keyId).toMatch(/^[0-9A-F]{16}$/);
    const pubText = formatPublicKey(key);
    expect(pubText).toBe(`untrusted comment: minisign public key ${key.keyId}\n${publicKeyBase64(key)}\n`);
    expect(publicKeyBase64(key).startsWith('RW')).toBe(true); // base64 of "Ed"
    expect(parsePublicKey(pubText)).toEqual({ keyId: key.keyId, key: key.key });
    expect(parsePublicKey(publicKeyBase64(key))).toEqual({ keyId: key.keyId, key: key.key });
    expect(parseSecretKey(formatSecretKey(key))).toEqual(key);
    expect(fingerprint(key)).toMatch(/^sha256:[0-9a-f]{64}$/);

    const sig = signMessage(Buffer.from('hello'), key, { trustedComment: 'timestamp:1\tfile:x' });
    const text = formatSignature(sig);
    expect(parseSignature(text)).toEqual(sig);
    expect(parseSignature(text.replace(/\n/g, '\r\n'))).toEqual(sig);
    verifySignature({ bytes: Buffer.from('hello') }, sig, key);
  });

  it('refuses a changed message, trusted comment, key, or non-canonical base64', () => {
    const key = generateKeyPair();
    const other = generateKeyPair();
    const sig = signMessage(Buffer.from('hello'), key, { trustedComment: 'ok' });
    const code = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        return (err as OutpostError).code;
      }
      return 'accepted';
    };
    expect(code(() => verifySignature({ bytes: Buffer.from('hellO') }, sig, key))).toBe(
      'bundle/bad-signature',
    );
    expect(
      code(() => verifySignature({ bytes: Buffer.from('hello') }, { ...sig, trustedComment: 'ok!' }, key)),
    ).toBe('bundle/bad-signature');
    expect(
      code(() => verifySignature({ bytes: Buffer.from('hello') }, sig, { ...other, keyId: key.keyId })),
    ).toBe('bundle/bad-signature');
    expect(code(() => verifySignature({ bytes: Buffer.from('hello') }, sig, other))).toBe(
      'bundle/bad-signature',
    );
    const lines = formatSignature(sig).split('\n');
    // Node's base64 decoder skips stray characters; ours must not.
    expect(code(() => parseSignature([lines[0], `${lines[1]}!`, lines[2], lines[3]].join('\n')))).toBe(
      'bundle/bad-signature',
    );
    expect(code(() => parseSignature(lines.slice(0, 3).join('\n')))).toBe('bundle/bad-signature');
    expect(code(() => parsePublicKey('RWQ'))).toBe('bundle/invalid-key');
    expect(code(() => parsePublicKey('hello\nworld\n'))).toBe('bundle/invalid-key');
    const sk = formatSecretKey(key).split('\n');
    const damaged = Buffer.from(sk[1]!, 'base64');
    damaged[100] = damaged[100]! ^ 1;
    expect(code(() => parseSecretKey(`${sk[0]}\n${damaged.toString('base64')}\n`))).toBe(
      'bundle/invalid-key',
    );
    expect(() => signMessage(Buffer.from('x'), key, { trustedComment: 'two\nlines' })).toThrow(/one line/);
  });
});

describe('minisign interop (Debian minisign as the independent peer)', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('minisign')));
  afterEach(() => cleanup());

  it('minisign -Vm verifies our prehashed and legacy signatures with our exported public key', () => {
    const key = generateKeyPair();
    const pub = path.join(dir, 'ours.pub');
    writePublicKeyFile(pub, key);
    const msg = path.join(dir, 'index.json');
    fs.writeFileSync(msg, crypto.randomBytes(5000));
    for (const algorithm of ['ED', 'Ed'] as const) {
      const sig = signMessage(fs.readFileSync(msg), key, {
        trustedComment: `timestamp:1\tfile:index.json\t${algorithm}`,
        algorithm,
      });
      fs.writeFileSync(`${msg}.minisig`, formatSignature(sig));
      const ok = minisign(['-Vm', msg, '-p', pub]);
      expect(ok.status, ok.out).toBe(0);
      expect(ok.out).toContain(`Trusted comment: timestamp:1\tfile:index.json\t${algorithm}`);
      // -H demands a prehashed signature: minisign itself tells the two apart.
      expect(minisign(['-Vm', msg, '-H', '-p', pub]).status).toBe(algorithm === 'ED' ? 0 : 1);
    }
    // The same check fails on a changed message: the test can fail.
    const bytes = fs.readFileSync(msg);
    bytes[10] = bytes[10]! ^ 0x40;
    fs.writeFileSync(msg, bytes);
    expect(minisign(['-Vm', msg, '-p', pub]).status).not.toBe(0);
  });

  it('accepts minisign -S signatures, prehashed and legacy (-l), by a minisign-made key', async () => {
    const pub = path.join(dir, 'm.pub');
    const sec = path.join(dir, 'm.key');
    execFileSync('minisign', ['-G', '-W', '-p', pub, '-s', sec], { stdio: 'pipe' });
    const key = parsePublicKey(fs.readFileSync(pub, 'utf8'));
    // minisign 0.11 prints the id without leading zeros (%PRIX64); we always show 16 digits.
    const shown = /minisign public key ([0-9A-F]+)/.exec(fs.readFileSync(pub, 'utf8'))![1]!;
    expect(BigInt(`0x${shown}`)).toBe(BigInt(`0x${key.keyId}`));
    const msg = path.join(dir, 'data.bin');
    fs.writeFileSync(msg, crypto.randomBytes(200_000));
    for (const legacy of [false, true]) {
      execFileSync(
        'minisign',
        ['-S', ...(legacy ? ['-l'] : []), '-s', sec, '-t', 'made by minisign', '-m', msg],
        {
          stdio: 'pipe',
        },
      );
      const sig = parseSignature(fs.readFileSync(`${msg}.minisig`, 'utf8'));
      expect(sig.algorithm).toBe(legacy ? 'Ed' : 'ED');
      expect(sig.keyId).toBe(key.keyId);
      expect(sig.trustedComment).toBe('made by minisign');
      verifySignature({ bytes: fs.readFileSync(msg) }, sig, key);
      await verifyFileSignature(msg, sig, key);
      const other = Buffer.from(fs.readFileSync(msg));
      other[0] = other[0]! ^ 1;
      expect(() => verifySignature({ bytes: other }, sig, key)).toThrow(OutpostError);
    }
  });

  it('reads secret keys minisign -G -W writes, and minisign signs with the secret keys we write', () => {
    // Theirs -> ours: the checksum (BLAKE2b-256) and the key halves check out, and we sign with it.
    const pub = path.join(dir, 'm.pub');
    const sec = path.join(dir, 'm.key');
    execFileSync('minisign', ['-G', '-W', '-p', pub, '-s', sec], { stdio: 'pipe' });
    const theirs = readSecretKeyFile(sec);
    expect(theirs.keyId).toBe(parsePublicKey(fs.readFileSync(pub, 'utf8')).keyId);
    const msg = path.join(dir, 'm.txt');
    fs.writeFileSync(msg, 'signed with a minisign key by outpost');
    fs.writeFileSync(
      `${msg}.minisig`,
      formatSignature(signMessage(fs.readFileSync(msg), theirs, { trustedComment: 'x' })),
    );
    expect(minisign(['-Vm', msg, '-p', pub]).status).toBe(0);

    // Ours -> theirs: minisign loads our file (it checks the checksum), rebuilds the public key, signs.
    const ours = generateKeyPair();
    const ourSec = path.join(dir, 'keys', 'bundle.key');
    writeSecretKeyFile(ourSec, ours);
    expect(fs.statSync(ourSec).mode & 0o777).toBe(0o600);
    const rebuilt = path.join(dir, 'rebuilt.pub');
    const r = minisign(['-R', '-s', ourSec, '-p', rebuilt]);
    expect(r.status, r.out).toBe(0);
    expect(parsePublicKey(fs.readFileSync(rebuilt, 'utf8'))).toEqual({ keyId: ours.keyId, key: ours.key });
    const s = minisign(['-S', '-s', ourSec, '-m', msg, '-x', `${msg}.2.minisig`]);
    expect(s.status, s.out).toBe(0);
    verifySignature(
      { bytes: fs.readFileSync(msg) },
      parseSignature(fs.readFileSync(`${msg}.2.minisig`, 'utf8')),
      ours,
    );
  });

  it('refuses an encrypted minisign key with a way out, and key files others can read', () => {
    const key = generateKeyPair();
    const file = path.join(dir, 'k.key');
    writeSecretKeyFile(file, key);
    expect(() => writeSecretKeyFile(file, key)).toThrow(/already exists/);
    fs.chmodSync(file, 0o644);
    expect(() => readSecretKeyFile(file)).toThrow(
      expect.objectContaining({ code: 'bundle/insecure-key-file' }),
    );
    const encrypted = formatSecretKey(key).split('\n');
    const b = Buffer.from(encrypted[1]!, 'base64');
    b.write('Sc', 2, 'latin1');
    expect(() => parseSecretKey(`${encrypted[0]}\n${b.toString('base64')}\n`)).toThrow(/minisign -C -W/);
  });
});
