import type { Clock } from '../../../lib/base/index.js';
import type { Logger } from '../../../lib/log/index.js';
import type { MmiClient } from '../../margo/mmi-client.js';
import { mcuCapabilities, type McuEvent, type OcreAdapter } from '../../runtimes/index.js';
import { createTimers, type AgentModule } from '../module.js';
import type { Reconciler } from '../reconciler.js';
import type { StateStore } from '../state.js';
import { shortMessage } from '../status.js';
import type { CapabilitiesReport } from './capabilities-report.js';

/**
 * The `mcus` module (ADR 0441): runs the ocre runtime's microcontrollers (opens their serial lines,
 * checks them, finds known boards on USB) and makes each one a Margo see-thru child device: its
 * capabilities go to the LO as `<host>/<mcu>` whenever its presence, firmware or reset count changes.
 * A reset or a reconnection (the device lost its RAM, so its Ocre containers) reconciles the
 * deployments that have workloads on it at once, so they are made again.
 */
export function createMcuModule(o: {
  client: MmiClient;
  adapter: OcreAdapter;
  reconciler: Reconciler;
  store: StateStore;
  capabilities?: CapabilitiesReport;
  deviceId: string;
  clock: Clock;
  logger: Logger;
  /** Wait before sending again after a failure. Default 5 s. */
  retryMs?: number;
}): AgentModule & { flush(): Promise<void> } {
  const log = o.logger.child({ component: 'mcus' });
  const fleet = o.adapter.fleet;
  const timers = createTimers();
  const dirty = new Set<string>();
  let sending: Promise<void> | undefined;
  let stopped = false;
  let retry: NodeJS.Timeout | undefined;
  let off: (() => void) | undefined;

  const sendAll = async (): Promise<void> => {
    for (const name of [...dirty]) {
      if (stopped) return;
      const st = fleet.get(name)?.state();
      if (!st) {
        dirty.delete(name);
        continue;
      }
      const deviceId = `${o.deviceId}/${name}`;
      dirty.delete(name);
      try {
        await o.client.putCapabilities(deviceId, mcuCapabilities(o.deviceId, st));
        log.info({ deviceId, connected: st.connected, resets: st.resets }, 'child device capabilities sent');
      } catch (e) {
        dirty.add(name);
        // The LO knows children only after their gateway: send the host's own capabilities first.
        if ((e as { code?: string }).code === 'margo/gateway-not-found' || /gateway/i.test(shortMessage(e)))
          await o.capabilities?.send(false);
        log.warn({ deviceId, err: shortMessage(e) }, 'child device capabilities not sent; will try again');
        timers.cancel(retry);
        retry = timers.later(() => {
          retry = undefined;
          void flush();
        }, o.retryMs ?? 5000);
        return;
      }
    }
  };
  const flush = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    sending ??= sendAll().finally(() => {
      sending = undefined;
      if (dirty.size > 0 && !retry) void flush();
    });
    return sending;
  };

  /** Deployments with a workload on this MCU. */
  const deploymentsOn = (mcu: string): string[] => {
    const workloads = new Set(o.adapter.workloadsOn(mcu));
    return Object.values(o.store.get().deployments)
      .filter((d) => d.workloads.some((w) => w.kind === 'ocre' && workloads.has(w.workloadId)))
      .map((d) => d.deploymentId);
  };

  const onEvent = (e: McuEvent) => {
    dirty.add(e.mcu);
    void flush();
    if (e.type === 'reset' || (e.type === 'connected' && e.first)) {
      const ids = deploymentsOn(e.mcu);
      if (ids.length)
        log.info({ mcu: e.mcu, deployments: ids }, 'reconciling the deployments of the microcontroller');
      for (const id of ids) o.reconciler.kick(id);
    }
  };

  return {
    name: 'mcus',
    async start() {
      off = fleet.on(onEvent);
      for (const m of fleet.list()) dirty.add(m.name);
      // Opening the lines can take a few seconds each: the agent does not wait for it.
      void fleet.start().then(() => flush());
    },
    flush,
    async stop() {
      stopped = true;
      off?.();
      timers.clear();
      await sending?.catch(() => undefined);
      await fleet.stop();
    },
  };
}
