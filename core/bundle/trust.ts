import { asc, eq } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import { bundleTrust } from '../store/schema/index.js';
import {
  fingerprint,
  formatPublicKey,
  parsePublicKey,
  type PublicKey,
  type Trust,
  type TrustedKey,
} from '../../lib/bundle/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import type { TrustedBundleKey } from '../../lib/contract/index.js';

/**
 * The keys whose bundles this server accepts (ADR 0402): pinned out of band by an operator (`bundle trust
 * add`), or followed through a rotation statement in an imported bundle. A removed key stays listed with
 * its removal time and is handed to the reader as removed, so a rotation cannot lead back to it.
 */
export interface TrustStore {
  list(): TrustedBundleKey[];
  add(input: { publicKey: string; name?: string | undefined; siteId?: string | undefined }): TrustedBundleKey;
  remove(keyId: string): TrustedBundleKey;
  /** What the bundle reader checks signatures against. */
  trust(): Trust;
  /** Pins the keys a verified bundle rotated to, with the scope of the key the trust came from (call in the apply transaction). */
  pinRotated(
    rotated: readonly { from: string; to: PublicKey }[],
    scope: { name: string | null; site: string | null },
  ): string[];
}

type Row = typeof bundleTrust.$inferSelect;

export function createTrustStore(deps: { store: Store; clock: Clock }): TrustStore {
  const db = deps.store.db;
  const view = (r: Row): TrustedBundleKey => ({
    keyId: r.keyId,
    fingerprint: fingerprint(parsePublicKey(r.publicKey)),
    name: r.name,
    siteId: r.siteId,
    origin: r.origin,
    rotatedFrom: r.rotatedFrom,
    addedAt: r.addedAt,
    removedAt: r.removedAt,
  });
  const rowOf = (keyId: string) => db.select().from(bundleTrust).where(eq(bundleTrust.keyId, keyId)).get();

  return {
    list: () => db.select().from(bundleTrust).orderBy(asc(bundleTrust.addedAt)).all().map(view),
    add(input) {
      const key = parsePublicKey(input.publicKey);
      const existing = rowOf(key.keyId);
      if (existing && existing.removedAt === null)
        throw new OutpostError(
          'already-exists',
          `key ${key.keyId} is already trusted${existing.siteId ? ` for site ${existing.siteId}` : ''}${existing.name ? ` as "${existing.name}"` : ''}`,
        );
      if (existing && existing.publicKey !== formatPublicKey(key))
        throw new OutpostError(
          'conflict',
          `key id ${key.keyId} was trusted before with another public key: refusing a key id collision`,
        );
      const row: Row = {
        keyId: key.keyId,
        publicKey: formatPublicKey(key),
        name: input.name ?? null,
        siteId: input.siteId ?? null,
        origin: 'operator',
        rotatedFrom: null,
        addedAt: deps.clock.now(),
        removedAt: null,
      };
      // Pinning a removed key again is an operator's explicit decision: it becomes trusted again.
      db.insert(bundleTrust)
        .values(row)
        .onConflictDoUpdate({ target: bundleTrust.keyId, set: { ...row } })
        .run();
      return view(row);
    },
    remove(keyId) {
      const r = rowOf(keyId);
      if (!r || r.removedAt !== null) throw errors.notFound('trusted key', keyId);
      const removedAt = deps.clock.now();
      db.update(bundleTrust).set({ removedAt }).where(eq(bundleTrust.keyId, keyId)).run();
      return view({ ...r, removedAt });
    },
    trust() {
      const keys: TrustedKey[] = [];
      const removed: string[] = [];
      for (const r of db.select().from(bundleTrust).all()) {
        if (r.removedAt !== null) {
          removed.push(r.keyId);
          continue;
        }
        keys.push({
          publicKey: parsePublicKey(r.publicKey),
          ...(r.name ? { name: r.name } : {}),
          ...(r.siteId ? { site: r.siteId } : {}),
        });
      }
      return { keys, removed };
    },
    pinRotated(rotated, scope) {
      const pinned: string[] = [];
      for (const step of rotated) {
        if (rowOf(step.to.keyId)) continue;
        db.insert(bundleTrust)
          .values({
            keyId: step.to.keyId,
            publicKey: formatPublicKey(step.to),
            name: scope.name ? `${scope.name} (rotated)` : null,
            siteId: scope.site,
            origin: 'rotation',
            rotatedFrom: step.from,
            addedAt: deps.clock.now(),
            removedAt: null,
          })
          .run();
        pinned.push(step.to.keyId);
      }
      return pinned;
    },
  };
}
