/**
 * The Margo Management Interface (rc.3), WFM side: the public entry of core/mmi.
 *
 * - createMmiServer({ backend, tls, trustDomain, wfmId, host?, port?, basePath?, logger, clock, ... })
 *     → { url, origin, port, close(), setTls(tls) }: HTTPS with mutual TLS on one listener (ADR 0240-0243).
 * - MmiBackend (./backend.ts): what the server needs from the LO (policy, manifests, YAML, bundles,
 *     capabilities, status, enrollment, SVID renewal, trust bundle); core/lo implements it.
 *
 * Tests: ./testing/memory-backend.ts (an in-memory MmiBackend), ./testing/memory-fixture.ts (a whole WFM
 * on a loopback port), ./conformance/suite.ts (runMmiConformance, to run against any backend), and
 * test/helpers/mmi-client.ts (an mTLS client presenting an SVID).
 */
export type { MmiBackend, MmiClient, RenewRequest, StoredManifest } from './backend.js';
export {
  createMmiServer,
  IMMUTABLE_CACHE_CONTROL,
  MANIFEST_CACHE_CONTROL,
  YAML_MEDIA_TYPE,
  type CreateMmiServerInput,
  type MmiServer,
  type MmiTlsMaterial,
} from './server.js';
export { type MmiProblem } from './problems.js';
export { acceptsGzip, acceptsMediaType, ifNoneMatchMatches, strongEtag } from './negotiation.js';
