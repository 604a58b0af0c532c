/**
 * Site identity: the site CA, node keys and CSRs, X.509-SVIDs, SPIFFE checks of peers, mutual-TLS option
 * builders, enrollment tokens, SPIFFE trust bundles and the Margo discovery document.
 * A library without state: callers persist what it returns. Decisions: docs/adr/0140-0143.
 */
export {
  classifySpiffeId,
  clientSpiffeId,
  isValidSegment,
  isValidTrustDomain,
  parseSpiffeId,
  spiffeIdProblem,
  trustDomainSpiffeId,
  wfmOf,
  wfmSpiffeId,
  type SpiffeId,
  type SpiffeIdClass,
} from './spiffe-id.js';
export {
  caFingerprint,
  caTrustDomain,
  createSiteCa,
  FINGERPRINT_PATTERN,
  NOT_BEFORE_BACKDATE_SECONDS,
  siteCaFromPem,
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
export { createKeyAndCsr, parseCsr, type ParsedCsr } from './csr.js';
export { parseRenewalCsr, type RenewalCsrInput } from './renewal-csr.js';
export { issueSvid, type IssuedSvid, type IssueSvidInput } from './issue-svid.js';
export { issueServerCertificate, type IssueServerCertificateInput } from './issue-server-cert.js';
export { normaliseSerialHex } from './cert-info.js';
export {
  DEFAULT_CLOCK_SKEW_SECONDS,
  trustAnchors,
  verifyPeer,
  type PeerFailureCode,
  type PeerRole,
  type TrustAnchors,
  type VerifyPeerInput,
  type VerifyPeerResult,
} from './verify-peer.js';
export {
  chainFromPeerCertificate,
  MIN_TLS_VERSION,
  mtlsClientOptions,
  mtlsServerOptions,
  peerChainDer,
  type MtlsClientOptions,
  type MtlsClientOptionsInput,
  type MtlsServerOptions,
  type MtlsServerOptionsInput,
} from './tls-options.js';
export {
  PinnedCaAgent,
  pinnedCaClientOptions,
  verifyPinnedServerChain,
  type PinnedCaClientOptionsInput,
  type PinnedCheckResult,
} from './pinned-ca.js';
export {
  createEnrollmentToken,
  enrollmentSecretMatches,
  hashEnrollmentSecret,
  isExpired,
  parseEnrollmentToken,
  TOKEN_PREFIX,
  type EnrollmentToken,
  type EnrollmentTokenInput,
} from './enrollment-token.js';
export {
  buildTrustBundle,
  parseTrustBundle,
  parseWellKnownMargo,
  wellKnownMargo,
  type DiscoveryDocument,
  type ParsedTrustBundle,
  type SpiffeBundle,
  type SpiffeBundleKey,
} from './trust-bundle.js';
export { IDENTITY_ERRORS, type IdentityErrorCode } from './identity-error.js';
