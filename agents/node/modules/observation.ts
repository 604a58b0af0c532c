import type { Clock } from '../../../lib/base/index.js';
import type { Logger } from '../../../lib/log/index.js';
import { createTimers, type AgentModule } from '../module.js';
import type { Reconciler } from '../reconciler.js';
import type { StateStore } from '../state.js';
import { shortMessage } from '../status.js';

/**
 * The `observation` module: watches the workloads (ADR 0207). Every `deployments.observeSeconds` it
 * looks at every desired deployment the reconciler is not working on: an applied one is checked
 * (`Reconciler.check`: a change of state is reported, a workload that stopped is started again as the
 * restart policy says); one that never converged and waits for no retry is reconciled again.
 */
export interface Observation extends AgentModule {
  /** One pass now (the module's loop makes one every `intervalMs`); a pass in progress is shared. */
  observe(): Promise<void>;
}

export function createObservation(o: {
  reconciler: Pick<Reconciler, 'busy' | 'scheduled' | 'kick' | 'check'>;
  store: StateStore;
  intervalMs: number;
  clock: Clock;
  logger: Logger;
}): Observation {
  const { reconciler, store, clock } = o;
  const log = o.logger.child({ component: 'agent' });
  const timers = createTimers();
  let stopped = false;
  let pass: Promise<void> | undefined;

  const observeAll = async (): Promise<void> => {
    for (const rec of Object.values(store.get().deployments)) {
      if (stopped) return;
      const id = rec.deploymentId;
      if (!rec.desired || reconciler.busy(id) || reconciler.scheduled(id)) continue;
      if (rec.appliedDigest !== rec.digest || rec.planDigest !== rec.digest || !rec.plan) {
        // Never converged and not waiting for a retry (e.g. after a restart): try now.
        if (!rec.retryAt || rec.retryAt <= clock.now()) reconciler.kick(id);
        continue;
      }
      await reconciler.check(id);
    }
  };

  const observe = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (pass) return pass;
    // A pass is shared until it has settled, and forgotten in a callback that always runs after this
    // assignment: a pass that awaits nothing settles at once, and forgetting it from inside (a `finally`
    // in the async body) would run before the assignment and keep a settled pass for good, so the agent
    // would never look again (issue 19, defect 3).
    const p = observeAll().finally(() => {
      if (pass === p) pass = undefined;
    });
    pass = p;
    return p;
  };

  const loop = () => {
    timers.later(() => {
      void observe()
        .catch((err: unknown) => log.warn({ err: shortMessage(err) }, 'observing workloads failed'))
        .finally(() => {
          if (!stopped) loop();
        });
    }, o.intervalMs);
  };

  return {
    name: 'observation',
    observe,
    start: () => loop(),
    async stop() {
      stopped = true;
      timers.clear();
      await pass?.catch(() => undefined);
    },
  };
}
