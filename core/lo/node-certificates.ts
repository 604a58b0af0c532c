import { X509Certificate } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { EventHub } from '../events.js';
import { trustedCas } from '../store/schema/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import {
  caFingerprint,
  clientSpiffeId,
  trustAnchors,
  verifyPeer,
  derToPem,
  pemBlocks,
} from '../../lib/identity/index.js';
import { issueSvid } from '../ca/index.js';
import { parseCsr } from '../../lib/x509/index.js';
import type { SiteIdentity } from './identity-store.js';
import type { NodeEnrollment } from './node-enrollment.js';

/**
 * Third-party Margo devices (ADR 0463). rc.3 leaves onboarding out of band; we offer two ways that keep
 * the device's key on the device and make it a node like ours (enrolled, deployable, served by the MMI):
 * - its own CSR, signed by the site CA (`edgectl co add node N --site S --csr FILE`);
 * - a certificate issued by another CA the operator added to the site's trust (`site ca trust add`), for
 *   `spiffe://<td>/margo/wfm/<wfm-id>/client/<tenant>.<node>`, registered for the node
 *   (`co add node N --site S --certificate FILE`). Trusting a CA admits nobody by itself: only registered
 *   certificates are accepted (the serial is looked up on every request, like the SVIDs we issue).
 */

export interface NodeCertificateResult {
  nodeUid: string;
  spiffeId: string;
  certPem: string;
  serialHex: string;
  notAfter: number;
  anchorsPem: string[];
  mmiUrl: string | null;
}

export interface TrustedCaView {
  fingerprint: string;
  subject: string;
  notAfter: number;
  addedAt: number;
  addedBy: string;
}

export interface NodeCertificates {
  signCsr(
    tenantId: string,
    input: {
      node: string;
      siteId: string;
      csrPem: string;
      modelId?: string;
      labels?: Record<string, string>;
      ttlHours?: number;
    },
  ): Promise<NodeCertificateResult>;
  register(
    tenantId: string,
    input: {
      node: string;
      siteId: string;
      certPem: string;
      modelId?: string;
      labels?: Record<string, string>;
    },
  ): NodeCertificateResult;
  trust(certPem: string, actor: string): TrustedCaView;
  untrust(fingerprint: string): void;
  list(): TrustedCaView[];
  /** PEMs of the trusted CAs (the MMI adds them to its client anchors). */
  anchorsPem(): string[];
}

export interface NodeCertificatesDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  events: EventHub;
  identity: SiteIdentity;
  enrollment: NodeEnrollment;
  svidTtlSeconds: number;
  mmiUrl: () => string | null;
  onInventoryChanged?: (uid: string) => void;
}

export function createNodeCertificates(deps: NodeCertificatesDeps): NodeCertificates {
  const { store, clock, identity } = deps;
  const db = store.db;
  const log = deps.logger.child({ component: 'node-certificates' });
  const bad = (m: string) => new OutpostError('invalid-input', m);
  const view = (r: typeof trustedCas.$inferSelect): TrustedCaView => ({
    fingerprint: r.fingerprint,
    subject: r.subject,
    notAfter: r.notAfter,
    addedAt: r.addedAt,
    addedBy: r.addedBy,
  });
  const result = (
    uid: string,
    spiffeId: string,
    certPem: string,
    serialHex: string,
    notAfter: number,
  ): NodeCertificateResult => ({
    nodeUid: uid,
    spiffeId,
    certPem,
    serialHex,
    notAfter,
    anchorsPem: [identity.requireCa().certPem],
    mmiUrl: deps.mmiUrl(),
  });
  const list = () => db.select().from(trustedCas).orderBy(asc(trustedCas.addedAt)).all();

  return {
    async signCsr(tenantId, input) {
      try {
        await parseCsr(input.csrPem);
      } catch (err) {
        throw bad(`--csr: ${(err as Error).message}`);
      }
      const node = deps.enrollment.prepare(tenantId, input.node, input.siteId, input.modelId);
      const ca = identity.requireCa();
      const now = clock.now();
      const spiffeId = clientSpiffeId(identity.trustDomain, identity.wfmId, node.uid);
      const svid = await issueSvid({
        ca,
        csrPem: input.csrPem,
        spiffeId,
        now,
        ttlSeconds: input.ttlHours !== undefined ? Math.round(input.ttlHours * 3600) : deps.svidTtlSeconds,
      });
      store.tx(() => {
        deps.enrollment.record(
          node,
          { serialHex: svid.serialHex, spiffeId, notAfter: svid.notAfter },
          now,
          input,
        );
        deps.onInventoryChanged?.(node.uid);
      });
      log.info({ node: node.uid, serial: svid.serialHex }, 'third-party device enrolled from its own CSR');
      deps.events.changed(tenantId, 'nodes', 'sites');
      return result(node.uid, spiffeId, svid.certPem, svid.serialHex, svid.notAfter);
    },

    register(tenantId, input) {
      const blocks = pemBlocks(input.certPem, 'CERTIFICATE');
      if (blocks.length === 0) throw bad('--certificate: not a PEM certificate');
      const anchors = [identity.requireCa().certPem, ...list().map((r) => r.certPem)];
      const expected = clientSpiffeId(identity.trustDomain, identity.wfmId, `${tenantId}.${input.node}`);
      const now = clock.now();
      const v = verifyPeer({
        chainDer: blocks,
        anchors: trustAnchors(anchors),
        now,
        expect: { trustDomain: identity.trustDomain, wfmId: identity.wfmId, role: 'client' },
      });
      if (!v.ok)
        throw bad(
          `--certificate is not acceptable (${v.code}): ${v.reason}${v.code === 'wrong-ca' ? ' (add its CA first: edgectl site ca trust add FILE)' : ''}`,
        );
      if (v.spiffeId !== expected)
        throw bad(
          `--certificate is for ${v.spiffeId}; node "${input.node}" needs a certificate for ${expected}`,
        );
      const node = deps.enrollment.prepare(tenantId, input.node, input.siteId, input.modelId);
      store.tx(() => {
        if (store.sqlite.prepare('SELECT 1 FROM svids WHERE serial_hex = ?').get(v.serialHex))
          throw new OutpostError(
            'conflict',
            `a certificate with serial ${v.serialHex} is already registered`,
          );
        deps.enrollment.record(
          node,
          { serialHex: v.serialHex, spiffeId: v.spiffeId, notAfter: v.notAfter },
          now,
          input,
        );
        deps.onInventoryChanged?.(node.uid);
      });
      log.info({ node: node.uid, serial: v.serialHex }, 'third-party device enrolled by its certificate');
      deps.events.changed(tenantId, 'nodes', 'sites');
      return result(node.uid, v.spiffeId, derToPem(blocks[0]!, 'CERTIFICATE'), v.serialHex, v.notAfter);
    },

    trust(certPem, actor) {
      let fingerprint: string;
      let cert: X509Certificate;
      try {
        trustAnchors([certPem]);
        const first = pemBlocks(certPem, 'CERTIFICATE');
        if (first.length !== 1) throw new Error('give exactly one CA certificate');
        cert = new X509Certificate(first[0]!);
        fingerprint = caFingerprint(certPem);
      } catch (err) {
        throw bad(`not a CA certificate: ${(err as Error).message}`);
      }
      if (fingerprint === identity.requireCa().fingerprint)
        throw bad('that is the site CA itself; it is trusted already');
      if (db.select().from(trustedCas).where(eq(trustedCas.fingerprint, fingerprint)).get())
        throw new OutpostError('already-exists', `the CA ${fingerprint} is trusted already`);
      const row = {
        fingerprint,
        certPem: cert.toString(),
        subject: cert.subject.replace(/\n/g, ', '),
        notAfter: Date.parse(cert.validTo),
        addedAt: clock.now(),
        addedBy: actor,
      };
      db.insert(trustedCas).values(row).run();
      log.warn({ fingerprint, subject: row.subject, by: actor }, "CA added to the site's trust");
      return view(row);
    },

    untrust(fingerprint) {
      const r = db.delete(trustedCas).where(eq(trustedCas.fingerprint, fingerprint)).run();
      if (r.changes === 0) throw errors.notFound('trusted CA', fingerprint);
      log.warn({ fingerprint }, "CA removed from the site's trust");
    },

    list: () => list().map(view),
    anchorsPem: () => list().map((r) => r.certPem),
  };
}
