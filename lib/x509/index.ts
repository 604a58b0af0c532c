/**
 * General X.509 and PKCS#10 building and parsing on @peculiar/x509 (environment: node). Heavy (about
 * 19 MiB resident once loaded): loaded on first use through `loadX509()`, so that a start that issues
 * nothing (an existing server home, an enrolled agent) never pays for it.
 */
export { loadX509, type X509Lib, type x509 } from './x509-lib.js';
export { createKeyAndCsr, parseCsr, type ParsedCsr } from './csr.js';
