import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import { apiTokens } from '../store/schema/index.js';
import { rolesCover, type ApiTokenInfo, type CallContext } from '../../lib/contract/index.js';
import { tokenView } from './token-view.js';
import { knownRoles } from '../auth.js';

/**
 * The acting tenant's tokens the caller may see: none with more power than its own (a tenant
 * administrator never sees an administrator's token), never a secret.
 */
export function listTokens(
  deps: { store: Store },
  input: { includeRevoked: boolean },
  ctx: CallContext,
): ApiTokenInfo[] {
  const where = input.includeRevoked
    ? eq(apiTokens.tenantId, ctx.tenantId)
    : and(eq(apiTokens.tenantId, ctx.tenantId), isNull(apiTokens.revokedAt));
  return deps.store.db
    .select()
    .from(apiTokens)
    .where(where)
    .orderBy(asc(apiTokens.createdAt), asc(apiTokens.id))
    .all()
    .filter((t) => rolesCover(ctx.principal.roles, knownRoles(t.roles)))
    .map(tokenView);
}
