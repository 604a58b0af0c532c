import crypto from 'node:crypto';
import type { Store } from './store/db.js';
import type { Clock } from '../lib/base/index.js';
import { ROLES, type Principal, type Role } from '../lib/contract/index.js';

/**
 * Console API authentication: bearer tokens, stored only as SHA-256 hashes, each with its roles and
 * an optional expiry (ADR 0520). Whoever holds a long-lived connection for a principal (an event
 * stream, a desktop window) watches it and ends when its token is revoked or expires.
 */
export interface Authenticator {
  /** The principal a bearer token stands for, or null (unknown, revoked or expired). */
  authenticate(token: string | undefined): Principal | null;
  /** The principal of an API token by its id while it is valid, else null. */
  byTokenId(tokenId: string): Principal | null;
  /**
   * Calls `onEnd` once when the principal's token is revoked or expires (never for a principal without
   * a token or an expiry). Returns a function that stops watching.
   */
  watch(principal: Principal, onEnd: (reason: 'revoked' | 'expired') => void): () => void;
  /** Tells the watchers of these tokens that they were revoked. */
  revoked(tokenIds: readonly string[]): void;
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(prefix = 'opt'): string {
  return `${prefix}_${crypto.randomBytes(24).toString('base64url')}`;
}

/** The per-run administrator (the token in server.json) and in-process callers by default. */
export const LOCAL_ADMIN_ID = 'operator:local';

export interface AuthenticatorOptions {
  store: Store;
  clock: Clock;
  /** The per-run token written to server.json: a server-wide administrator. */
  bootstrapToken?: string | undefined;
  defaultTenant: string;
}

interface TokenRow {
  id: string;
  tenantId: string;
  name: string;
  roles: string;
  expiresAt: number | null;
}

/** The roles of a stored list, keeping only the ones this version knows. */
export function knownRoles(v: unknown): Role[] {
  return Array.isArray(v) ? ROLES.filter((r) => v.includes(r)) : [];
}

/** Roles as stored (JSON text). */
export function parseRoles(json: string): Role[] {
  try {
    return knownRoles(JSON.parse(json));
  } catch {
    return [];
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const { clock } = opts;
  const bootHash = opts.bootstrapToken ? Buffer.from(hashToken(opts.bootstrapToken), 'hex') : undefined;
  const byHash = opts.store.sqlite.prepare(
    'SELECT id, tenant_id AS tenantId, name, roles, expires_at AS expiresAt FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL',
  );
  const byId = opts.store.sqlite.prepare(
    'SELECT id, tenant_id AS tenantId, name, roles, expires_at AS expiresAt FROM api_tokens WHERE id = ? AND revoked_at IS NULL',
  );
  const toPrincipal = (row: TokenRow | undefined): Principal | null => {
    if (!row) return null;
    if (row.expiresAt !== null && row.expiresAt <= clock.now()) return null;
    const roles = parseRoles(row.roles);
    if (roles.length === 0) return null;
    return {
      id: `token:${row.id}`,
      name: row.name,
      tenantId: row.tenantId,
      roles,
      tokenId: row.id,
      expiresAt: row.expiresAt,
    };
  };
  const watchers = new Map<string, Set<(reason: 'revoked' | 'expired') => void>>();

  return {
    authenticate(token) {
      if (!token) return null;
      const h = hashToken(token);
      if (bootHash && crypto.timingSafeEqual(Buffer.from(h, 'hex'), bootHash)) {
        return { id: LOCAL_ADMIN_ID, name: 'local operator', tenantId: opts.defaultTenant, roles: ['admin'] };
      }
      return toPrincipal(byHash.get(h) as TokenRow | undefined);
    },
    byTokenId(tokenId) {
      return toPrincipal(byId.get(tokenId) as TokenRow | undefined);
    },
    watch(principal, onEnd) {
      let done = false;
      const end = (reason: 'revoked' | 'expired') => {
        if (done) return;
        done = true;
        stop();
        onEnd(reason);
      };
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        if (principal.expiresAt === null || principal.expiresAt === undefined) return;
        const left = principal.expiresAt - clock.now();
        if (left <= 0) {
          queueMicrotask(() => end('expired'));
          return;
        }
        timer = setTimeout(
          () => (principal.expiresAt! <= clock.now() ? end('expired') : arm()),
          Math.min(left, MAX_TIMER_MS),
        );
        timer.unref?.();
      };
      const id = principal.tokenId;
      const onRevoked = () => end('revoked');
      if (id) {
        let set = watchers.get(id);
        if (!set) watchers.set(id, (set = new Set()));
        set.add(onRevoked);
      }
      const stop = () => {
        if (timer) clearTimeout(timer);
        if (!id) return;
        const set = watchers.get(id);
        set?.delete(onRevoked);
        if (set?.size === 0) watchers.delete(id);
      };
      arm();
      return () => {
        done = true;
        stop();
      };
    },
    revoked(tokenIds) {
      for (const id of tokenIds) for (const w of [...(watchers.get(id) ?? [])]) w('revoked');
    },
  };
}
