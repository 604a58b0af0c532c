import type { Advertisement } from '../../../lib/discovery/index.js';
import type { Logger } from '../../../lib/log/index.js';
import { advertiseAgent, type AgentAdvertiseInput } from '../advertise.js';
import type { AgentConfig } from '../config.js';
import type { AgentModule } from '../module.js';

/**
 * The `advertise` module (ADR 0464): `_outpost-agent._tcp` on the LAN with the node's key fingerprint,
 * node id and site, so the console lists this machine under "found on the network". `startAgent()`
 * adds it when `discovery.advertise` is on as well (off: nothing is sent). By default it advertises only on the interface
 * toward the LO (none when the LO is on loopback). The advertisement is made in the background: the
 * start never waits for mDNS probing, and a failure is logged, never fatal (agents/node/advertise.ts).
 */
export function createLanAdvertise(o: {
  /** The LO's MMI URL: the interface toward it is the one advertised on. */
  lo: string;
  /** The node's key at start (the fingerprint stays the start's key after a renewal, ADR 0464). */
  keyPem: string;
  nodeId: string;
  siteId: string;
  version: string;
  config: AgentConfig['discovery'];
  logger: Logger;
  /** Makes the advertisement (default agents/node/advertise.ts; tests). */
  advertise?: (input: AgentAdvertiseInput) => Promise<Advertisement | undefined>;
}): AgentModule {
  const make = o.advertise ?? advertiseAgent;
  let stopped = false;
  let starting: Promise<void> | undefined;
  let advert: Advertisement | undefined;

  return {
    name: 'advertise',
    start() {
      starting = make({
        lo: o.lo,
        keyPem: o.keyPem,
        version: o.version,
        config: o.config,
        nodeId: o.nodeId,
        siteId: o.siteId,
        logger: o.logger,
      })
        .then(async (a) => {
          // Stopped while probing: withdraw it at once.
          if (stopped) await a?.stop().catch(() => undefined);
          else advert = a;
        })
        .catch(() => undefined);
    },
    async stop() {
      stopped = true;
      // An advertisement still probing is withdrawn when it is made: goodbyes go out before stop() returns.
      await starting;
      await advert?.stop().catch(() => undefined);
      advert = undefined;
    },
  };
}
