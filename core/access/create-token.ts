import crypto from 'node:crypto';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import { apiTokens } from '../store/schema/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import {
  normalizeRoles,
  rolesCover,
  type ApiTokenInfo,
  type CallContext,
  type Role,
} from '../../lib/contract/index.js';
import { hashToken, newToken } from '../auth.js';
import { tokenView } from './token-view.js';

export interface CreateTokenInput {
  name: string;
  roles: Role[];
  ttlSeconds?: number | undefined;
}

/**
 * A new API token in the acting tenant (ADR 0520). It never has more power than the caller: every role
 * it holds the caller holds too, and it never outlives the caller's own token. The secret is returned
 * once; only its SHA-256 is kept.
 */
export function createToken(
  deps: { store: Store; clock: Clock },
  input: CreateTokenInput,
  ctx: CallContext,
): { token: string; info: ApiTokenInfo } {
  const n = normalizeRoles(input.roles);
  if ('problem' in n)
    throw new OutpostError('invalid-input', n.problem, { errors: [{ field: 'roles', message: n.problem }] });
  const caller = ctx.principal;
  if (!rolesCover(caller.roles, n.roles)) {
    throw new OutpostError(
      'forbidden',
      `a token with ${caller.roles.join(', ')} may not make one with ${n.roles.join(', ')}: a token never has more power than the one that makes it`,
      { data: { requestedRoles: n.roles, roles: [...caller.roles] } },
    );
  }
  const now = deps.clock.now();
  const callerExpiry = caller.expiresAt ?? null;
  let expiresAt = input.ttlSeconds === undefined ? callerExpiry : now + input.ttlSeconds * 1000;
  if (callerExpiry !== null && expiresAt !== null && expiresAt > callerExpiry) {
    throw new OutpostError(
      'forbidden',
      `the new token would outlive the one that makes it (that one expires ${new Date(callerExpiry).toISOString()}): ask for a shorter --ttl`,
      { data: { expiresAt: callerExpiry } },
    );
  }
  expiresAt ??= null;
  const token = newToken();
  const row = {
    id: crypto.randomBytes(6).toString('hex'),
    tenantId: ctx.tenantId,
    name: input.name,
    tokenHash: hashToken(token),
    roles: n.roles,
    createdAt: now,
    expiresAt,
    createdBy: caller.id,
    revokedAt: null,
  };
  ctx.noteResultRef?.(`token/${row.id}`);
  deps.store.tx(() => deps.store.db.insert(apiTokens).values(row).run());
  return { token, info: tokenView(row) };
}
