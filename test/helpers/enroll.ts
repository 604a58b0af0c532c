import { createKeyAndCsr } from '../../lib/x509/index.js';
import { createMmiClient } from './mmi-client.js';

/** What a node holds after enrolling: its token (spent), SVID, key and the site's trust anchors. */
export interface EnrolledNode {
  token: string;
  clientId: string;
  certPem: string;
  keyPem: string;
  anchorsPem: string[];
}

/**
 * Enrolls a node the way the agent does, over the real MMI: a key and CSR made here, first contact
 * pinned to the CA fingerprint the token carries. `token` comes from `identity.createEnrollToken`.
 */
export async function enrollOverMmi(
  mmiUrl: string,
  token: { token: string; caFingerprint: string },
  hostname?: string,
): Promise<EnrolledNode> {
  const kc = await createKeyAndCsr({});
  const pinned = createMmiClient({
    baseUrl: mmiUrl,
    serverCheck: { pinnedCaFingerprint: token.caFingerprint },
  });
  try {
    const r = await pinned.post('/api/v1/outpost/enroll', {
      token: token.token,
      csr: kc.csrPem,
      ...(hostname ? { hostname } : {}),
    });
    if (r.status !== 200) throw new Error(`enrollment refused (${r.status}): ${r.text()}`);
    const body = r.json<{ certPem: string; anchorsPem: string[]; clientId: string }>();
    return {
      token: token.token,
      clientId: body.clientId,
      certPem: body.certPem,
      keyPem: kc.keyPem,
      anchorsPem: body.anchorsPem,
    };
  } finally {
    pinned.close();
  }
}
