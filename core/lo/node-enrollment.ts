import { eq } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Store } from '../store/db.js';
import { nodes, svids } from '../store/schema/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { requireModel, type Fleet } from '../fleet/module.js';
import type { NodeRow } from '../fleet/node-view.js';

/**
 * The one way a node becomes enrolled outside the token flow (ADR 0462, 0463): approval of an enrollment
 * request, a third-party device's CSR signed by the operator, or a certificate from a trusted CA. The node
 * must be at a site this server serves (its own, or one served embedded), and never a revoked one.
 */
export interface NodeEnrollment {
  /** Checks (and registers, when new) the node before anything is issued. */
  prepare(tenantId: string, name: string, siteId: string, modelId?: string): NodeRow;
  /** Records the certificate and marks the node enrolled; call inside the caller's transaction. */
  record(
    node: NodeRow,
    cert: { serialHex: string; spiffeId: string; notAfter: number },
    now: number,
    extra?: { modelId?: string | undefined; labels?: Record<string, string> | undefined },
  ): void;
}

export function createNodeEnrollment(deps: { config: Config; store: Store; fleet: Fleet }): NodeEnrollment {
  const { config, store, fleet } = deps;
  const db = store.db;
  return {
    prepare(tenantId, name, siteId, modelId) {
      if (config.role === 'co')
        throw new OutpostError(
          'conflict',
          "this server runs with --role co and serves no Margo Management Interface: enroll the node at its site's LO, or run with --role all",
        );
      if (fleet.remoteSites(tenantId).includes(siteId))
        throw new OutpostError(
          'conflict',
          `site "${siteId}" is served by a remote LO, which has its own CA: enroll the node there`,
        );
      if (modelId !== undefined) requireModel(store, tenantId, modelId);
      const node = fleet.ensureNode(tenantId, name, siteId);
      if (node.state === 'revoked')
        throw new OutpostError(
          'conflict',
          `node "${node.name}" was revoked; remove it and add it again to re-enroll`,
        );
      return node;
    },
    record(node, cert, now, extra = {}) {
      db.insert(svids)
        .values({
          serialHex: cert.serialHex,
          clientId: node.uid,
          spiffeId: cert.spiffeId,
          issuedAt: now,
          notAfter: cert.notAfter,
          revokedAt: null,
        })
        .run();
      db.update(nodes)
        .set({
          state: 'enrolled',
          enrolledAt: now,
          revokedAt: null,
          ...(extra.modelId !== undefined ? { modelId: extra.modelId } : {}),
          ...(extra.labels !== undefined ? { labels: { ...node.labels, ...extra.labels } } : {}),
        })
        .where(eq(nodes.uid, node.uid))
        .run();
    },
  };
}
