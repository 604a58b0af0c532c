import type { Store } from '../store/db.js';
import { rowChanges } from '../store/row-changes.js';
import type { MmiClient } from '../mmi/backend.js';

export type AuthorizeDecision = { ok: true } | { ok: false; reason: string };

/**
 * The accepted-client policy on every MMI request, answered from memory (ADR 0540): the decision per client
 * (its SPIFFE ID and presented serial) is computed once with prepared statements from the deny and allow
 * rules, the SVID by serial and the node by uid, and kept until a write changes one of them: a row of
 * `client_policy` (every decision goes), the client's `svids` rows or its `nodes.state` (its decision
 * goes). Writes by another connection drop everything. So a revoked node or certificate is refused on its
 * next request, even on a connection kept open, without a query per poll.
 */
export interface AcceptedClients {
  authorize(client: MmiClient): AuthorizeDecision;
}

interface Cached {
  spiffeId: string;
  serialHex: string;
  decision: AuthorizeDecision;
}

/** Decisions kept at most (one per client); beyond that the cache starts again. */
const MAX_DECISIONS = 200_000;

export function createAcceptedClients(store: Store): AcceptedClients {
  const q = {
    policy: store.sqlite.prepare('SELECT pattern, effect FROM client_policy'),
    svid: store.sqlite.prepare('SELECT revoked_at AS revokedAt FROM svids WHERE serial_hex = ?'),
    node: store.sqlite.prepare('SELECT state FROM nodes WHERE uid = ?'),
  };
  const decisions = new Map<string, Cached>();
  /** Presented serial -> the client whose decision used it (an SVID row is looked up by serial). */
  const bySerial = new Map<string, string>();
  const forget = (clientId: string | null | undefined) => {
    if (clientId === null) return clearAll();
    if (clientId !== undefined) decisions.delete(clientId);
  };
  const clearAll = () => {
    decisions.clear();
    bySerial.clear();
  };
  let policy: { allow: string[]; deny: string[] } | undefined;
  const changes = rowChanges(store.sqlite);
  changes.watch({ table: 'client_policy', key: 'pattern' }, () => {
    policy = undefined;
    clearAll();
  });
  const svidColumns = ['serial_hex', 'client_id', 'revoked_at'];
  changes.watch({ table: 'svids', key: 'client_id', columns: svidColumns }, forget);
  changes.watch({ table: 'svids', key: 'serial_hex', columns: svidColumns }, (serial) =>
    forget(serial === null ? null : bySerial.get(serial)),
  );
  changes.watch({ table: 'nodes', key: 'uid', columns: ['uid', 'state'] }, forget);

  const rules = () => {
    if (policy) return policy;
    const p = { allow: [] as string[], deny: [] as string[] };
    for (const r of q.policy.all() as { pattern: string; effect: 'allow' | 'deny' }[])
      p[r.effect].push(r.pattern);
    return (policy = p);
  };
  const matches = (patterns: string[], spiffeId: string) =>
    patterns.some((p) => p === spiffeId || (p.endsWith('/*') && spiffeId.startsWith(p.slice(0, -1))));

  const decide = (client: MmiClient): AuthorizeDecision => {
    const { allow, deny } = rules();
    if (matches(deny, client.spiffeId))
      return { ok: false, reason: `${client.spiffeId} is denied by the accepted-client policy` };
    const svid = q.svid.get(client.serialHex) as { revokedAt: number | null } | undefined;
    if (svid?.revokedAt)
      return { ok: false, reason: `the certificate ${client.serialHex} of ${client.clientId} was revoked` };
    const node = q.node.get(client.clientId) as { state: string } | undefined;
    if (node?.state === 'revoked') return { ok: false, reason: `node ${client.clientId} was revoked` };
    if (node?.state === 'enrolled' && svid) return { ok: true };
    if (matches(allow, client.spiffeId)) return { ok: true };
    return {
      ok: false,
      reason: `${client.spiffeId} is not an enrolled node and not in the accepted-client policy (edgectl site clients allow <spiffe-id>)`,
    };
  };

  return {
    authorize(client) {
      if (changes.changedElsewhere()) {
        policy = undefined;
        clearAll();
      }
      const c = decisions.get(client.clientId);
      if (c !== undefined && c.serialHex === client.serialHex && c.spiffeId === client.spiffeId)
        return c.decision;
      const decision = decide(client);
      if (decisions.size >= MAX_DECISIONS) clearAll();
      decisions.set(client.clientId, { spiffeId: client.spiffeId, serialHex: client.serialHex, decision });
      bySerial.set(client.serialHex, client.clientId);
      return decision;
    },
  };
}
