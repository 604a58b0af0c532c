import type { apiTokens } from '../store/schema/index.js';
import type { ApiTokenInfo } from '../../lib/contract/index.js';
import { knownRoles } from '../auth.js';

export type TokenRow = typeof apiTokens.$inferSelect;

/** What the contract shows of a token: never its secret or hash. */
export function tokenView(t: TokenRow): ApiTokenInfo {
  return {
    id: t.id,
    tenantId: t.tenantId,
    name: t.name,
    roles: knownRoles(t.roles),
    createdAt: t.createdAt,
    expiresAt: t.expiresAt,
    createdBy: t.createdBy,
    revokedAt: t.revokedAt,
  };
}
