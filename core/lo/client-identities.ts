import { asc } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import { clientPolicy, svids } from '../store/schema/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { clientSpiffeId } from '../../lib/identity/index.js';
import { isAdmin, type CallContext } from '../../lib/contract/index.js';

/**
 * Who the site's MMI knows (ADR 0522): the SVIDs issued and the accepted-client policy. A tenant sees
 * only its own nodes' certificates (client ids `<tenant>.<node>`) and the policy entries naming them;
 * the whole list, other clients and prefix rules are the administrator's.
 */
export function listClientIdentities(
  deps: { store: Store; trustDomain: string; wfmId: string },
  ctx: CallContext,
) {
  const db = deps.store.db;
  const policy = db.select().from(clientPolicy).orderBy(asc(clientPolicy.pattern)).all();
  const issued = db.select().from(svids).orderBy(asc(svids.issuedAt)).all();
  if (isAdmin(ctx.principal.roles)) return { policy, svids: issued };
  const own = `${ctx.tenantId}.`;
  const ownPattern = clientSpiffeId(deps.trustDomain, deps.wfmId, `${ctx.tenantId}.x`).slice(0, -1);
  return {
    policy: policy.filter((p) => p.pattern.startsWith(ownPattern) && !p.pattern.endsWith('*')),
    svids: issued.filter((s) => s.clientId.startsWith(own)),
  };
}

/**
 * `identity.issueClient` makes identities for clients that are not nodes (a conformance tester). A
 * client id `<tenant>.<name>` of an existing tenant is a node's identity, now or once such a node
 * enrolls: the MMI would take the certificate for that node's. Those are refused (ADR 0522); a node's
 * certificate comes only from its enrollment (revoke and re-enroll it to rotate).
 */
export function checkNonNodeClientId(store: Store, clientId: string): void {
  const dot = clientId.indexOf('.');
  const tenant = dot > 0 ? clientId.slice(0, dot) : undefined;
  const isNode = store.sqlite.prepare('SELECT 1 FROM nodes WHERE uid = ?').get(clientId) !== undefined;
  const inTenant =
    tenant !== undefined &&
    store.sqlite.prepare('SELECT 1 FROM tenants WHERE id = ?').get(tenant) !== undefined;
  if (isNode || inTenant) {
    throw new OutpostError(
      'conflict',
      `client id "${clientId}" ${isNode ? 'is a node' : `is in tenant "${tenant}"'s node namespace (<tenant>.<node>)`}: a node's certificate comes only from its enrollment (revoke and re-enroll it to rotate); issue client certificates under an id without a tenant prefix`,
      { data: { clientId } },
    );
  }
}
