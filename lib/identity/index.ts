/**
 * Node and peer identity without a certificate authority (environment: node; node:crypto and our own DER
 * reading, never @peculiar/x509, so the edge agent stays small): SPIFFE IDs, PEM and certificate facts,
 * CA fingerprints, the agent's key and CSR (csr-lite), SPIFFE checks of peers, mutual-TLS option builders,
 * the pinned-CA first contact of enrollment, enrollment tokens, SPIFFE trust bundles and the Margo
 * discovery document. The site CA that issues SVIDs is core/ca; the general X.509 builder is lib/x509.
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
  assertP256,
  derToPem,
  pemBlocks,
  importP256SigningKey,
  loadP256PrivateKey,
  parseCertificate,
  spkiDer,
  spkiFingerprint,
  splitCertificatesPem,
  toP256PublicKey,
} from './pem.js';
export { certInfo, normaliseSerialHex, type CertInfo } from './cert-info.js';
export { caFingerprint, caTrustDomain, FINGERPRINT_PATTERN } from './fingerprint.js';
export { createKeyAndCsrLite, isSimpleCommonName } from './csr-lite.js';
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
export { IDENTITY_ERRORS, identityError, type IdentityErrorCode } from './identity-error.js';
export { webCrypto, ECDSA_P256, ECDSA_SHA256, type CryptoKey, type CryptoKeyPair } from './webcrypto.js';
