import fs from 'node:fs';
import path from 'node:path';
import { desc, eq, isNull } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import { bundleKeys } from '../store/schema/index.js';
import {
  createRotation,
  fingerprint,
  formatPublicKey,
  formatSecretKey,
  generateKeyPair,
  keySigner,
  parsePublicKey,
  parseSecretKey,
  publicKeyOf,
  readSecretKeyFile,
  writePublicKeyFile,
  writeSecretKeyFile,
  type BundleSigner,
  type KeyRotation,
  type SecretKey,
} from '../../lib/bundle/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import type { BundleSigningKey } from '../../lib/contract/index.js';

/**
 * Where a desktop keeps secrets: Electron's safeStorage (the OS keychain: Keychain, DPAPI, libsecret or
 * kwallet) seals the key text; the database keeps only the sealed bytes. Headless servers have none and
 * keep the key in a minisign secret-key file, mode 0600 (ADR 0405).
 */
export interface SecretSealer {
  isAvailable(): boolean;
  seal(text: string): Buffer;
  open(sealed: Buffer): string;
}

export interface SigningKeys {
  /** The current key, made on first use. */
  current(): { row: BundleSigningKey; secret: SecretKey };
  signer(): BundleSigner;
  list(): BundleSigningKey[];
  /** A new key whose public key the old key signs; the old one is retired (kept for the statements). */
  rotate(): { previous: BundleSigningKey; current: BundleSigningKey };
  /**
   * Rotation statements leading to the current key, oldest first, starting after `fromKeyId` (the key the
   * receiver last acknowledged a bundle from); all of them (at most 8) when it is unknown.
   */
  rotationsSince(fromKeyId: string | null): KeyRotation[];
}

type Row = typeof bundleKeys.$inferSelect;

export function createSigningKeys(deps: {
  store: Store;
  clock: Clock;
  /** `<home>/keys/bundle`. */
  dir: string;
  sealer?: SecretSealer | undefined;
}): SigningKeys {
  const { store, clock } = deps;
  const db = store.db;
  const fileOf = (keyId: string) => path.join(deps.dir, `${keyId}.key`);

  const view = (r: Row, current: boolean): BundleSigningKey => ({
    keyId: r.keyId,
    fingerprint: fingerprint(parsePublicKey(r.publicKey)),
    publicKey: r.publicKey,
    storage: r.storage,
    current,
    previousKeyId: r.previousKeyId,
    createdAt: r.createdAt,
    retiredAt: r.retiredAt,
  });

  const secretOf = (r: Row): SecretKey => {
    if (r.storage === 'sealed') {
      if (!deps.sealer?.isAvailable() || !r.sealed)
        throw new OutpostError(
          'unavailable',
          `the bundle signing key ${r.keyId} is sealed by the desktop's keychain, which is not available to this process; run the desktop app`,
        );
      return parseSecretKey(deps.sealer.open(r.sealed));
    }
    const key = readSecretKeyFile(fileOf(r.keyId));
    if (key.keyId !== r.keyId)
      throw new OutpostError('internal', `${fileOf(r.keyId)} holds key ${key.keyId}, not ${r.keyId}`);
    return key;
  };

  /** Stores a new key's secret (sealed, or a 0600 file) and returns the row fields for it. */
  const storeSecret = (key: SecretKey): Pick<Row, 'storage' | 'sealed'> => {
    if (deps.sealer?.isAvailable())
      return { storage: 'sealed', sealed: deps.sealer.seal(formatSecretKey(key)) };
    fs.mkdirSync(deps.dir, { recursive: true, mode: 0o700 });
    writeSecretKeyFile(fileOf(key.keyId), key);
    writePublicKeyFile(path.join(deps.dir, `${key.keyId}.pub`), publicKeyOf(key), { force: true });
    return { storage: 'file', sealed: null };
  };

  const currentRow = (): Row | undefined =>
    db
      .select()
      .from(bundleKeys)
      .where(isNull(bundleKeys.retiredAt))
      .orderBy(desc(bundleKeys.createdAt))
      .get();

  const create = (previous?: { row: Row; secret: SecretKey }): Row => {
    const key = generateKeyPair();
    const now = clock.now();
    const rotation = previous ? createRotation(previous.secret, publicKeyOf(key), new Date(now)) : null;
    const row: Row = {
      keyId: key.keyId,
      publicKey: formatPublicKey(key),
      ...storeSecret(key),
      rotation,
      previousKeyId: previous?.row.keyId ?? null,
      createdAt: now,
      retiredAt: null,
    };
    store.tx(() => {
      if (previous)
        db.update(bundleKeys).set({ retiredAt: now }).where(eq(bundleKeys.keyId, previous.row.keyId)).run();
      db.insert(bundleKeys).values(row).run();
    });
    return row;
  };

  const keys: SigningKeys = {
    current() {
      const row = currentRow() ?? create();
      return { row: view(row, true), secret: secretOf(row) };
    },
    signer() {
      return keySigner(keys.current().secret);
    },
    list() {
      const cur = currentRow()?.keyId;
      return db
        .select()
        .from(bundleKeys)
        .orderBy(desc(bundleKeys.createdAt))
        .all()
        .map((r) => view(r, r.keyId === cur));
    },
    rotate() {
      const prevRow = currentRow() ?? create();
      const secret = secretOf(prevRow);
      const next = create({ row: prevRow, secret });
      const previous = db.select().from(bundleKeys).where(eq(bundleKeys.keyId, prevRow.keyId)).get()!;
      return { previous: view(previous, false), current: view(next, true) };
    },
    rotationsSince(fromKeyId) {
      const chain: KeyRotation[] = [];
      let r = currentRow();
      while (r && r.keyId !== fromKeyId && r.rotation && chain.length < 8) {
        chain.unshift(r.rotation);
        const prev = r.previousKeyId;
        r = prev ? db.select().from(bundleKeys).where(eq(bundleKeys.keyId, prev)).get() : undefined;
      }
      return chain;
    },
  };
  return keys;
}
