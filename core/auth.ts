import crypto from 'node:crypto';
import type { Store } from './store/db.js';
import type { Principal } from '../lib/contract/index.js';

/** Console API authentication: bearer tokens, stored only as SHA-256 hashes. */
export interface Authenticator {
  /** The principal a bearer token stands for, or null. Constant-time for the bootstrap token. */
  authenticate(token: string | undefined): Principal | null;
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newToken(prefix = 'opt'): string {
  return `${prefix}_${crypto.randomBytes(24).toString('base64url')}`;
}

export interface AuthenticatorOptions {
  store: Store;
  /** The per-run token written to server.json: an administrator of the default tenant. */
  bootstrapToken?: string | undefined;
  defaultTenant: string;
}

export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const bootHash = opts.bootstrapToken ? Buffer.from(hashToken(opts.bootstrapToken), 'hex') : undefined;
  const stmt = opts.store.sqlite.prepare(
    'SELECT id, tenant_id AS tenantId, name, admin FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL',
  );
  return {
    authenticate(token) {
      if (!token) return null;
      const h = hashToken(token);
      if (bootHash && crypto.timingSafeEqual(Buffer.from(h, 'hex'), bootHash)) {
        return { id: 'operator:local', name: 'local operator', tenantId: opts.defaultTenant, admin: true };
      }
      const row = stmt.get(h) as { id: string; tenantId: string; name: string; admin: number } | undefined;
      if (!row) return null;
      return { id: `token:${row.id}`, name: row.name, tenantId: row.tenantId, admin: row.admin === 1 };
    },
  };
}
