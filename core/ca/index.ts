/**
 * The site CA (control plane only): creating and loading the CA, issuing X.509-SVIDs from CSRs and the
 * servers' own certificates, checking renewal CSRs, writing client SVID files. Built on lib/x509; the
 * identity checks both sides share (SPIFFE IDs, peers, TLS options, tokens) are lib/identity.
 * Decisions: docs/adr/0140-0143, 0380.
 */
export {
  createSiteCa,
  siteCaFromPem,
  randomSerialHex,
  NOT_BEFORE_BACKDATE_SECONDS,
  type CreateSiteCaInput,
  type SiteCa,
} from './site-ca.js';
export {
  anchorsToPem,
  CA_CERT_FILE,
  CA_KEY_FILE,
  CLIENT_SVID_FILES,
  loadSiteCa,
  saveSiteCa,
  writeClientSvidFiles,
} from './files.js';
export {
  createSvidIssuer,
  issueSvid,
  type IssuedSvid,
  type IssueSvidInput,
  type SvidIssuer,
} from './issue-svid.js';
export { issueServerCertificate, type IssueServerCertificateInput } from './issue-server-cert.js';
export { parseRenewalCsr, type RenewalCsrInput } from './renewal-csr.js';
