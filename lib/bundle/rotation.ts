import { bundleError } from './errors.js';
import { type KeyRotation, MAX_ROTATIONS } from './format.js';
import type { Trust, TrustedKey } from './keys.js';
import {
  fingerprint,
  formatPublicKey,
  formatSignature,
  parsePublicKey,
  parseSignature,
  signMessage,
  verifySignature,
  type PublicKey,
  type SecretKey,
} from './minisign.js';

/**
 * Key rotation (ADR 0402). `edgectl bundle key rotate` makes a new key and has the old key sign the
 * new key's public-key file; the statement travels in the `rotations` of the next bundles (signed by
 * the new key), so a site that trusts only the old key verifies the chain old -> new, then the bundle,
 * and pins the new key. The statement is two minisign texts, so `minisign -Vm new.pub -x new.pub.minisig
 * -p old.pub` checks it too; its trusted comment names both key ids and the time:
 * `outpost key rotation from <OLD> to <NEW> at <ISO time>`.
 */

const STATEMENT = /^outpost key rotation from ([0-9A-F]{16}) to ([0-9A-F]{16}) at (\S+)$/;

export function createRotation(oldKey: SecretKey, newKey: PublicKey, at: Date): KeyRotation {
  if (oldKey.keyId === newKey.keyId)
    throw bundleError('invalid-input', 'a rotation needs a new key with another key id');
  const publicKey = formatPublicKey(newKey);
  const sig = signMessage(Buffer.from(publicKey, 'utf8'), oldKey, {
    trustedComment: `outpost key rotation from ${oldKey.keyId} to ${newKey.keyId} at ${at.toISOString()}`,
    untrustedComment: `rotation of outpost bundle key ${oldKey.keyId} to ${newKey.keyId}`,
  });
  return { publicKey, signature: formatSignature(sig) };
}

export interface ParsedRotation {
  from: string;
  to: PublicKey;
  at: string;
}

/** Reads a statement without checking its signature; `bundle/bad-rotation` if it is malformed. */
export function parseRotation(rotation: KeyRotation): ParsedRotation {
  try {
    const to = parsePublicKey(rotation.publicKey);
    const sig = parseSignature(rotation.signature);
    const m = STATEMENT.exec(sig.trustedComment);
    if (!m || m[1] !== sig.keyId || m[2] !== to.keyId || !Number.isFinite(Date.parse(m[3]!)))
      throw bundleError('bundle/bad-rotation', 'its trusted comment does not name the rotation it signs');
    return { from: sig.keyId, to, at: m[3]! };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw bundleError(
      'bundle/bad-rotation',
      `a key rotation statement is malformed: ${reason}`,
      undefined,
      err,
    );
  }
}

/** Checks a statement against the old key; returns the new key. */
export function verifyRotation(rotation: KeyRotation, oldKey: PublicKey): ParsedRotation {
  const parsed = parseRotation(rotation);
  if (parsed.from !== oldKey.keyId)
    throw bundleError(
      'bundle/bad-rotation',
      `the rotation is signed by key ${parsed.from}, not ${oldKey.keyId}`,
    );
  try {
    verifySignature(
      { bytes: Buffer.from(rotation.publicKey, 'utf8') },
      parseSignature(rotation.signature),
      oldKey,
    );
  } catch (err) {
    throw bundleError(
      'bundle/bad-rotation',
      `the rotation from key ${parsed.from} to key ${parsed.to.keyId} does not verify`,
      undefined,
      err,
    );
  }
  return parsed;
}

export interface ResolvedSigner {
  /** The key that signed the index. */
  key: PublicKey;
  fingerprint: string;
  /** The trusted key it is, or the trusted key the rotations start from. */
  trustedAs: TrustedKey;
  /** Rotations followed from `trustedAs` to `key`, oldest first (empty when `key` is trusted itself). */
  rotated: ParsedRotation[];
}

/**
 * Finds the key `keyId` among the trusted keys, or a chain of valid rotation statements from a trusted
 * key to it, never through a removed key. The statements come from the not yet verified index: each is
 * self-authenticating (signed by the previous key), and invalid ones are skipped.
 */
export function resolveSigner(
  trust: Trust,
  keyId: string,
  rotations: readonly KeyRotation[],
): ResolvedSigner {
  const removed = new Set(trust.removed ?? []);
  if (removed.has(keyId))
    throw bundleError(
      'bundle/removed-signer',
      `the bundle is signed by key ${keyId}, which was removed from the trusted keys`,
      {
        keyId,
      },
    );
  const direct = trust.keys.find((k) => k.publicKey.keyId === keyId);
  if (direct)
    return {
      key: direct.publicKey,
      fingerprint: fingerprint(direct.publicKey),
      trustedAs: direct,
      rotated: [],
    };

  const statements: { rotation: KeyRotation; parsed: ParsedRotation }[] = [];
  for (const rotation of rotations.slice(0, MAX_ROTATIONS)) {
    try {
      statements.push({ rotation, parsed: parseRotation(rotation) });
    } catch {
      // not a statement: cannot lead anywhere
    }
  }
  let throughRemoved = false;
  let badLink = false;
  // Breadth-first from every trusted, non-removed key; each step verifies one statement.
  type Path = { key: PublicKey; trustedAs: TrustedKey; rotated: ParsedRotation[] };
  let frontier: Path[] = trust.keys
    .filter((k) => !removed.has(k.publicKey.keyId))
    .map((k) => ({ key: k.publicKey, trustedAs: k, rotated: [] }));
  const visited = new Set(frontier.map((p) => p.key.keyId));
  for (let depth = 0; depth < MAX_ROTATIONS && frontier.length > 0; depth++) {
    const next: Path[] = [];
    for (const p of frontier) {
      for (const s of statements) {
        if (s.parsed.from !== p.key.keyId || visited.has(s.parsed.to.keyId)) continue;
        let step: ParsedRotation;
        try {
          step = verifyRotation(s.rotation, p.key);
        } catch {
          if (s.parsed.to.keyId === keyId) badLink = true;
          continue;
        }
        if (removed.has(step.to.keyId)) {
          throughRemoved = true;
          continue;
        }
        visited.add(step.to.keyId);
        const path = { key: step.to, trustedAs: p.trustedAs, rotated: [...p.rotated, step] };
        if (step.to.keyId === keyId)
          return {
            key: step.to,
            fingerprint: fingerprint(step.to),
            trustedAs: path.trustedAs,
            rotated: path.rotated,
          };
        next.push(path);
      }
    }
    frontier = next;
  }
  if (badLink)
    throw bundleError(
      'bundle/bad-rotation',
      `the rotation statement for signing key ${keyId} does not verify`,
      { keyId },
    );
  if (throughRemoved)
    throw bundleError(
      'bundle/removed-signer',
      `the bundle's key ${keyId} is reached only through a removed key`,
      { keyId },
    );
  throw bundleError(
    'bundle/unknown-signer',
    `the bundle is signed by key ${keyId}, which is not trusted here`,
    { keyId },
  );
}
