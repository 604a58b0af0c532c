/**
 * General X.509 and PKCS#10 building and parsing on @peculiar/x509 (environment: node). Heavy (about
 * 19 MiB resident once loaded): the control plane's CA uses it; the edge agent loads it only lazily, for
 * a node name its own CSR builder (lib/identity csr-lite) cannot write.
 */
export { x509 } from './x509-lib.js';
export { createKeyAndCsr, parseCsr, type ParsedCsr } from './csr.js';
