import { describe, expect, it } from 'vitest';
import * as identity from './index.js';

describe('core/identity public entry', () => {
  it('exports exactly the documented API', () => {
    expect(Object.keys(identity).sort()).toMatchInlineSnapshot(`
      [
        "CA_CERT_FILE",
        "CA_KEY_FILE",
        "CLIENT_SVID_FILES",
        "DEFAULT_CLOCK_SKEW_SECONDS",
        "FINGERPRINT_PATTERN",
        "IDENTITY_ERRORS",
        "MIN_TLS_VERSION",
        "NOT_BEFORE_BACKDATE_SECONDS",
        "PinnedCaAgent",
        "TOKEN_PREFIX",
        "anchorsToPem",
        "buildTrustBundle",
        "caFingerprint",
        "caTrustDomain",
        "chainFromPeerCertificate",
        "classifySpiffeId",
        "clientSpiffeId",
        "createEnrollmentToken",
        "createKeyAndCsr",
        "createSiteCa",
        "enrollmentSecretMatches",
        "hashEnrollmentSecret",
        "isExpired",
        "isValidSegment",
        "isValidTrustDomain",
        "issueServerCertificate",
        "issueSvid",
        "loadSiteCa",
        "mtlsClientOptions",
        "mtlsServerOptions",
        "normaliseSerialHex",
        "parseCsr",
        "parseEnrollmentToken",
        "parseRenewalCsr",
        "parseSpiffeId",
        "parseTrustBundle",
        "parseWellKnownMargo",
        "peerChainDer",
        "pinnedCaClientOptions",
        "saveSiteCa",
        "siteCaFromPem",
        "spiffeIdProblem",
        "trustAnchors",
        "trustDomainSpiffeId",
        "verifyPeer",
        "verifyPinnedServerChain",
        "wellKnownMargo",
        "wfmOf",
        "wfmSpiffeId",
        "writeClientSvidFiles",
      ]
    `);
  });

  it('works end to end through the entry alone (the x509 polyfill loads in the right order)', async () => {
    const now = Date.UTC(2026, 0, 1);
    const ca = await identity.createSiteCa({ trustDomain: 'td', name: 'CA', now });
    const { csrPem } = await identity.createKeyAndCsr();
    const svid = await identity.issueSvid({
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
