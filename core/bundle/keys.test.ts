import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/base/index.js';
import { tempDir } from '../../lib/base/testing.js';
import { parsePublicKey, verifyRotation } from '../../lib/bundle/index.js';
import { openStore, type Store } from '../store/db.js';
import { createSigningKeys, type SecretSealer } from './keys.js';
import { createTrustStore } from './trust.js';

/**
 * This server's signing keys and the keys it trusts: made on first use, the secret in a 0600 minisign
 * file (which Debian's minisign signs with) or sealed by the desktop's keychain, rotations chained.
 */
describe('signing keys and trust', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const setup = (sealer?: SecretSealer) => {
    const dir = tempDir('outpost-keys-');
    dirs.push(dir);
    const store = openStore(path.join(dir, 'db.sqlite'));
    stores.push(store);
    const keyDir = path.join(dir, 'keys', 'bundle');
    return {
      dir,
      keyDir,
      store,
      keys: createSigningKeys({ store, clock: systemClock, dir: keyDir, sealer }),
      trust: createTrustStore({ store, clock: systemClock }),
    };
  };

  it('makes the key on first use, in a 0600 minisign file that minisign itself signs with', () => {
    const { keys, keyDir, dir } = setup();
    expect(keys.list()).toEqual([]);
    const k = keys.current();
    expect(keys.current().row.keyId).toBe(k.row.keyId);
    const secret = path.join(keyDir, `${k.row.keyId}.key`);
    expect(fs.statSync(secret).mode & 0o777).toBe(0o600);
    expect(k.row.storage).toBe('file');
    const msg = path.join(dir, 'm.txt');
    fs.writeFileSync(msg, 'signed by minisign with our key file\n');
    execFileSync('minisign', ['-S', '-s', secret, '-m', msg], { stdio: 'pipe', input: '' });
    fs.writeFileSync(path.join(dir, 'k.pub'), k.row.publicKey);
    execFileSync('minisign', ['-V', '-p', path.join(dir, 'k.pub'), '-m', msg], { stdio: 'pipe' });
  });

  it('keeps the key sealed by a keychain when the desktop offers one, and refuses when it is gone', () => {
    // Electron's safeStorage cannot run here: a reversible transform stands in for the OS keychain.
    let available = true;
    const sealer: SecretSealer = {
      isAvailable: () => available,
      seal: (t) => Buffer.from(t, 'utf8').reverse(),
      open: (b) => Buffer.from(b).reverse().toString('utf8'),
    };
    const { keys, keyDir, store } = setup(sealer);
    const k = keys.current();
    expect(k.row.storage).toBe('sealed');
    expect(fs.existsSync(keyDir)).toBe(false);
    const raw = store.sqlite.prepare('SELECT sealed FROM bundle_keys').get() as { sealed: Buffer };
    expect(raw.sealed.toString('utf8')).not.toContain('Ed');
    expect(keys.signer().publicKey.keyId).toBe(k.row.keyId);
    available = false;
    expect(() => keys.current()).toThrow(/keychain/);
  });

  it('rotates: the old key signs the new one, and the chain leads from any earlier key', () => {
    const { keys } = setup();
    const k1 = keys.current().row;
    const r1 = keys.rotate();
    const r2 = keys.rotate();
    expect(r1.previous.keyId).toBe(k1.keyId);
    expect(r2.previous.keyId).toBe(r1.current.keyId);
    expect(
      keys
        .list()
        .filter((k) => k.current)
        .map((k) => k.keyId),
    ).toEqual([r2.current.keyId]);
    const all = keys.rotationsSince(null);
    expect(all).toHaveLength(2);
    const step1 = verifyRotation(all[0]!, parsePublicKey(k1.publicKey));
    const step2 = verifyRotation(all[1]!, step1.to);
    expect(step2.to.keyId).toBe(r2.current.keyId);
    expect(keys.rotationsSince(r1.current.keyId)).toHaveLength(1);
    expect(keys.rotationsSince(r2.current.keyId)).toEqual([]);
  });

  it('trusts a key once; a removed key stays listed and is handed to the reader as removed', () => {
    const { keys, trust } = setup();
    const pub = keys.current().row.publicKey;
    const t = trust.add({ publicKey: pub, name: 'hq', siteId: undefined });
    expect(t).toMatchObject({ name: 'hq', siteId: null, origin: 'operator', removedAt: null });
    expect(() => trust.add({ publicKey: pub })).toThrow(/already trusted/);
    // The bare base64 line (minisign -P) is a public key too.
    const line = pub.trim().split('\n')[1]!;
    expect(parsePublicKey(line).keyId).toBe(t.keyId);
    trust.remove(t.keyId);
    expect(trust.trust()).toEqual({ keys: [], removed: [t.keyId] });
    expect(trust.list()[0]!.removedAt).not.toBeNull();
    expect(() => trust.remove(t.keyId)).toThrow(/not found/);
    expect(() => trust.add({ publicKey: 'untrusted comment: x\nnot base64!\n' })).toThrow();
  });
});
