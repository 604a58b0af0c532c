/**
 * The MMI conformance suite against the real LO backend (core/lo: SQLite store, manifest store, enrollment,
 * accepted-client policy) inside a whole core on a temporary home, so every Margo rule the in-memory run
 * checks also holds for what ships. Clients are nodes of a site admitted by an allow rule of the accepted-client
 * policy (`identity.allow`), revoked by a deny rule; desired state goes straight into the manifest store.
 */
import type { Clock } from '../../../lib/base/index.js';
import { clientSpiffeId } from '../../../lib/identity/index.js';
import { startTestCore } from '../../../test/helpers/core.js';
import { tempHome } from '../../../test/helpers/home.js';
import { runMmiConformance } from './suite.js';
import type { MmiConformanceFixture } from './fixture.js';

async function makeLoFixture(): Promise<MmiConformanceFixture> {
  const home = tempHome('outpost-mmi-conf-');
  // The TLS stack checks certificates against the real clock, so the core runs on it too; the offset only
  // moves it back for a moment to mint an enrollment token that has already expired.
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset, monotonic: () => performance.now() };
  const start = () => startTestCore({ home: home.home, clock, overrides: { mmi: { enabled: true } } });
  let t = await start();
  await t.core.client().sites.add({ id: 'plant-1' });
  const ca = t.core.lo.identity.requireCa();
  const td = t.core.lo.identity.trustDomain;
  const wfm = t.core.lo.identity.wfmId;
  return {
    get baseUrl() {
      return t.core.lo.mmiUrl()!;
    },
    trustDomain: td,
    wfmId: wfm,
    ca,
    async acceptClient(name) {
      // A node of the site (only nodes report capabilities, ADR 0463), admitted by the accepted-client policy.
      const node = await t.core.client().nodes.add({ name, siteId: 'plant-1' });
      await t.core.client().identity.allow({ pattern: clientSpiffeId(td, wfm, node.uid) });
      return node.uid;
    },
    async revokeClient(clientId) {
      await t.core.client().identity.deny({ pattern: clientSpiffeId(td, wfm, clientId) });
    },
    async setDeployments(clientId, deployments) {
      await t.core.lo.manifests.apply(
        clientId,
        deployments.map((d) => ({ deploymentId: d.deploymentId, yaml: Buffer.from(d.yaml) })),
        null,
      );
    },
    async createEnrollmentToken({ nodeName, expired }) {
      if (expired) offset = -3 * 60_000;
      try {
        const r = await t.core
          .client()
          .identity.createEnrollToken({ node: nodeName, siteId: 'plant-1', ttlMinutes: 1 });
        return r.token;
      } finally {
        offset = 0;
      }
    },
    async restart() {
      await t.stop(); // closes the core and its database; the home stays
      t = await start();
    },
    async close() {
      await t.stop();
      home.cleanup();
    },
  };
}

runMmiConformance('LO backend (SQLite, manifests store)', makeLoFixture);
