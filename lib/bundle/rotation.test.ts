import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutpostError } from '../errors/index.js';
import { generateKeyPair, formatPublicKey, parseSignature, formatSignature } from './minisign.js';
import { createRotation, resolveSigner, verifyRotation } from './rotation.js';
import { tempDir } from './test-helpers.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as OutpostError).code;
  }
  return 'accepted';
}

describe('key rotation statements', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('rotation')));
  afterEach(() => cleanup());

  it('is a new public key signed by the old key, which Debian minisign verifies too', () => {
    const oldKey = generateKeyPair();
    const newKey = generateKeyPair();
    const r = createRotation(oldKey, newKey, new Date('2026-03-01T00:00:00Z'));
    const step = verifyRotation(r, oldKey);
    expect(step.from).toBe(oldKey.keyId);
    expect(step.to).toEqual({ keyId: newKey.keyId, key: newKey.key });
    expect(step.at).toBe('2026-03-01T00:00:00.000Z');

    fs.writeFileSync(path.join(dir, 'old.pub'), formatPublicKey(oldKey));
    fs.writeFileSync(path.join(dir, 'new.pub'), r.publicKey);
    fs.writeFileSync(path.join(dir, 'new.pub.minisig'), r.signature);
    const out = spawnSync('minisign', ['-Vm', path.join(dir, 'new.pub'), '-p', path.join(dir, 'old.pub')], {
      encoding: 'utf8',
    });
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toContain(`outpost key rotation from ${oldKey.keyId} to ${newKey.keyId}`);
  });

  it('refuses a statement by another key, for another key, or with its comment changed', () => {
    const oldKey = generateKeyPair();
    const newKey = generateKeyPair();
    const stranger = generateKeyPair();
    const r = createRotation(oldKey, newKey, new Date());
    expect(codeOf(() => verifyRotation(r, stranger))).toBe('bundle/bad-rotation');
    // The signed public key swapped for another one: the signature no longer covers it.
    expect(codeOf(() => verifyRotation({ ...r, publicKey: formatPublicKey(stranger) }, oldKey))).toBe(
      'bundle/bad-rotation',
    );
    const sig = parseSignature(r.signature);
    const forged = formatSignature({ ...sig, trustedComment: sig.trustedComment.replace('at 2', 'at 3') });
    expect(codeOf(() => verifyRotation({ ...r, signature: forged }, oldKey))).toBe('bundle/bad-rotation');
    expect(codeOf(() => createRotation(oldKey, oldKey, new Date()))).toBe('invalid-input');
  });

  it('resolves a signer through a chain of rotations from a trusted key, never through a removed one', () => {
    const k1 = generateKeyPair();
    const k2 = generateKeyPair();
    const k3 = generateKeyPair();
    const r12 = createRotation(k1, k2, new Date());
    const r23 = createRotation(k2, k3, new Date());
    const trust = { keys: [{ publicKey: k1, name: 'hq', site: 'site-a' }] };

    const direct = resolveSigner(trust, k1.keyId, []);
    expect(direct.rotated).toEqual([]);
    const chained = resolveSigner(trust, k3.keyId, [r23, r12]); // order does not matter
    expect(chained.key.keyId).toBe(k3.keyId);
    expect(chained.trustedAs.site).toBe('site-a');
    expect(chained.rotated.map((s) => s.to.keyId)).toEqual([k2.keyId, k3.keyId]);

    expect(codeOf(() => resolveSigner(trust, k3.keyId, [r23]))).toBe('bundle/unknown-signer');
    expect(codeOf(() => resolveSigner({ ...trust, removed: [k2.keyId] }, k3.keyId, [r12, r23]))).toBe(
      'bundle/removed-signer',
    );
    expect(codeOf(() => resolveSigner({ ...trust, removed: [k1.keyId] }, k1.keyId, []))).toBe(
      'bundle/removed-signer',
    );
    expect(codeOf(() => resolveSigner({ ...trust, removed: [k1.keyId] }, k2.keyId, [r12]))).toBe(
      'bundle/unknown-signer',
    );
    // A statement that claims to lead to the signer but does not verify is named as such.
    const bad = { ...r12, signature: createRotation(k3, k2, new Date()).signature };
    expect(codeOf(() => resolveSigner(trust, k2.keyId, [bad]))).toBe('bundle/unknown-signer');
    const s12 = parseSignature(r12.signature);
    const flipped = Buffer.from(s12.signature);
    flipped[0] = flipped[0]! ^ 1;
    const broken = { ...r12, signature: formatSignature({ ...s12, signature: flipped }) };
    expect(codeOf(() => resolveSigner(trust, k2.keyId, [broken]))).toBe('bundle/bad-rotation');
    // Junk in the rotations is ignored, not fatal, as long as a valid path exists.
    expect(resolveSigner(trust, k2.keyId, [{ publicKey: 'x', signature: 'y' }, r12]).key.keyId).toBe(
      k2.keyId,
    );
  });
});
