import { and, eq } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import { apiTokens } from '../store/schema/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import { rolesCover, type ApiTokenInfo, type CallContext } from '../../lib/contract/index.js';
import { knownRoles } from '../auth.js';
import { tokenView } from './token-view.js';

/**
 * Revokes a token of the acting tenant and, transitively, every token it made (in any tenant), in one
 * transaction; `revoked` is then told every id so open event streams and desktop sessions end. A caller
 * may not revoke a token more powerful than its own.
 */
export function revokeToken(
  deps: { store: Store; clock: Clock; revoked: (ids: string[]) => void },
  input: { id: string },
  ctx: CallContext,
): { token: ApiTokenInfo; alsoRevoked: string[] } {
  const { store, clock } = deps;
  const row = store.db
    .select()
    .from(apiTokens)
    .where(and(eq(apiTokens.tenantId, ctx.tenantId), eq(apiTokens.id, input.id)))
    .get();
  if (!row) throw errors.notFound('token', input.id);
  if (!rolesCover(ctx.principal.roles, knownRoles(row.roles))) {
    throw new OutpostError(
      'forbidden',
      `token "${row.id}" has more power (${row.roles.join(', ')}) than yours (${ctx.principal.roles.join(', ')}); only a token covering its roles may revoke it`,
      { data: { roles: row.roles } },
    );
  }
  const now = clock.now();
  const revokeOne = store.sqlite.prepare(
    'UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
  );
  const children = store.sqlite.prepare('SELECT id FROM api_tokens WHERE created_by = ?');
  const all: string[] = [];
  store.tx(() => {
    const seen = new Set<string>();
    const queue = [row.id];
    while (queue.length) {
      const id = queue.shift()!;
      if (seen.has(id)) continue;
      seen.add(id);
      revokeOne.run(now, id);
      all.push(id);
      for (const c of children.all(`token:${id}`) as { id: string }[]) queue.push(c.id);
    }
  });
  deps.revoked(all);
  const after = store.db.select().from(apiTokens).where(eq(apiTokens.id, row.id)).get()!;
  return { token: tokenView(after), alsoRevoked: all.filter((id) => id !== row.id) };
}
