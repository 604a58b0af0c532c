/**
 * The MMI conformance suite against the in-memory backend behind the Symphony/CTT prefix `/v1alpha2/margo`,
 * with untrusted client certificates answered 403 instead of refused in the handshake (ADR 0240).
 */
import { runMmiConformance } from './conformance/suite.js';
import { startMemoryMmi } from './testing/memory-fixture.js';

runMmiConformance(
  'in-memory backend behind /v1alpha2/margo, untrusted certificates answered 403',
  () => startMemoryMmi({ basePath: '/v1alpha2/margo', server: { untrustedCertificate: 'forbid' } }),
  {
    untrustedCertificate: 'forbid',
  },
);
