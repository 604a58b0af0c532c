import { asc, eq } from 'drizzle-orm';
import type { CoreModule } from '../module.js';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Authenticator } from '../auth.js';
import { tenants } from '../store/schema/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { createToken } from './create-token.js';
import { listTokens } from './list-tokens.js';
import { revokeToken } from './revoke-token.js';
import { whoamiOf } from './whoami.js';

export interface AccessModuleDeps {
  store: Store;
  clock: Clock;
  auth: Authenticator;
}

/**
 * Tenants, API tokens and roles (ADR 0520): who may call the console API, and as whom. The rule itself
 * (which roles a method needs) lives in the contract; the dispatcher enforces it.
 */
export function createAccessModule(deps: AccessModuleDeps): CoreModule {
  const { store, clock, auth } = deps;
  const db = store.db;
  return {
    name: 'access',
    handlers: {
      tenants: {
        async list() {
          return { tenants: db.select().from(tenants).orderBy(asc(tenants.id)).all() };
        },
        async add(input) {
          if (db.select().from(tenants).where(eq(tenants.id, input.id)).get()) {
            throw new OutpostError('already-exists', `tenant "${input.id}" already exists`);
          }
          const row = { id: input.id, name: input.name ?? input.id, createdAt: clock.now() };
          store.tx(() => db.insert(tenants).values(row).run());
          return row;
        },
        async createToken(input, ctx) {
          return createToken({ store, clock }, input, ctx);
        },
        async listTokens(input, ctx) {
          return { tokens: listTokens({ store }, input, ctx) };
        },
        async revokeToken(input, ctx) {
          return revokeToken({ store, clock, revoked: (ids) => auth.revoked(ids) }, input, ctx);
        },
      },
      system: {
        async whoami(_input, ctx) {
          return whoamiOf(ctx.principal, ctx.tenantId);
        },
      },
    },
  };
}
