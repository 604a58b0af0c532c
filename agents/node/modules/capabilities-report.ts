import type { Clock } from '../../../lib/base/index.js';
import type { Logger } from '../../../lib/log/index.js';
import type { MmiClient } from '../../margo/mmi-client.js';
import type { RuntimeDefinition, RuntimeSet } from '../../runtimes/index.js';
import { buildCapabilities, capabilitiesDigest, probeHost } from '../capabilities.js';
import { ms, type AgentConfig } from '../config.js';
import { createTimers, type AgentModule } from '../module.js';
import { jittered, mayCommunicate } from '../schedule.js';
import type { StateStore } from '../state.js';
import { shortMessage } from '../status.js';

/**
 * The `capabilities` module: keeps the node's Margo DeviceCapabilities current at the LO (ADR 0265).
 * The polling module sends them before its first poll (`send(false)`); this module probes the host and
 * the runtimes again every `capabilities.recheckSeconds` and sends the document when its digest changed
 * (a runtime that became usable adds its `outpost.dev/runtime.<kind>` label).
 */
export interface CapabilitiesReport extends AgentModule {
  /**
   * Sends the capabilities (probing the runtimes again with `reprobe`, and then only when they changed);
   * resolves to why they could not be sent, or undefined.
   */
  send(reprobe: boolean): Promise<unknown>;
}

export function createCapabilitiesReport(o: {
  client: MmiClient;
  store: StateStore;
  runtimes: RuntimeSet;
  definitions?: readonly RuntimeDefinition[];
  deviceId: string;
  home: string;
  hostRoot?: string;
  version: string;
  config: AgentConfig;
  clock: Clock;
  logger: Logger;
}): CapabilitiesReport {
  const { client, store, runtimes, config, clock } = o;
  const log = o.logger.child({ component: 'agent' });
  const timers = createTimers();
  let stopped = false;
  let inFlight: Promise<unknown> | undefined;

  const send = async (reprobe: boolean): Promise<unknown> => {
    if (stopped || !mayCommunicate(config.poll, new Date(clock.now()))) return undefined;
    try {
      const probes = reprobe ? await runtimes.probe() : runtimes.lastProbe();
      const caps = buildCapabilities({
        deviceId: o.deviceId,
        config,
        facts: probeHost({ home: o.home, ...(o.hostRoot ? { root: o.hostRoot } : {}) }),
        runtimes: probes,
        agentVersion: o.version,
        ...(o.hostRoot ? { root: o.hostRoot } : {}),
        ...(o.definitions ? { definitions: o.definitions } : {}),
      });
      const digest = capabilitiesDigest(caps);
      if (store.get().capabilities?.digest === digest && reprobe) return undefined;
      await client.putCapabilities(o.deviceId, caps);
      store.update((s) => (s.capabilities = { digest, sentAt: clock.now() }));
      log.info({ deviceId: o.deviceId, digest }, 'capabilities sent');
      return undefined;
    } catch (err) {
      log.warn({ err: shortMessage(err) }, 'capabilities not sent; will try again');
      store.update((s) => delete s.capabilities);
      return err;
    }
  };

  const loop = () => {
    timers.later(
      () => {
        inFlight = send(true).finally(() => {
          if (!stopped) loop();
        });
      },
      jittered(ms(config.capabilities.recheckSeconds), config.poll.jitter),
    );
  };

  return {
    name: 'capabilities',
    send,
    start: () => loop(),
    async stop() {
      stopped = true;
      timers.clear();
      await inFlight?.catch(() => undefined);
    },
  };
}
