import { describe, expect, it } from 'vitest';
import * as identity from '../../lib/identity/index.js';
import * as x509 from '../../lib/x509/index.js';
import * as ca_ from './index.js';

describe('core/ca public entry', () => {
  it('exports exactly the documented API', () => {
    expect(Object.keys(ca_).sort()).toMatchInlineSnapshot(`
      [
        "CA_CERT_FILE",
        "CA_KEY_FILE",
        "CLIENT_SVID_FILES",
        "NOT_BEFORE_BACKDATE_SECONDS",
        "anchorsToPem",
        "createSiteCa",
        "createSvidIssuer",
        "issueServerCertificate",
        "issueSvid",
        "loadSiteCa",
        "parseRenewalCsr",
        "randomSerialHex",
        "saveSiteCa",
        "siteCaFromPem",
        "writeClientSvidFiles",
      ]
    `);
  });

  it('works end to end through the entry alone with lib/identity and lib/x509 (the x509 polyfill loads in the right order)', async () => {
    const now = Date.UTC(2026, 0, 1);
    const ca = await ca_.createSiteCa({ trustDomain: 'td', name: 'CA', now });
    const { csrPem } = await x509.createKeyAndCsr();
    const svid = await ca_.issueSvid({
      ca,
      csrPem,
      spiffeId: identity.clientSpiffeId('td', 'w', 'n'),
      now,
      ttlSeconds: 600,
    });
    const der = Buffer.from(svid.certPem.replace(/-----[A-Z ]+-----|\s+/g, ''), 'base64');
    expect(
      identity.verifyPeer({
        chainDer: [der],
        anchorsPem: [ca.certPem],
        now,
        expect: { trustDomain: 'td', wfmId: 'w', role: 'client' },
      }),
    ).toMatchObject({ ok: true, clientId: 'n', serialHex: svid.serialHex });
  });
});
