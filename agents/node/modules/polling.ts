import type { Clock } from '../../../lib/base/index.js';
import type { Logger } from '../../../lib/log/index.js';
import { isProblem } from '../../margo/problem.js';
import { ms, type AgentConfig } from '../config.js';
import type { MmiSession } from '../mmi-session.js';
import { createTimers, type AgentModule } from '../module.js';
import type { Reconciler } from '../reconciler.js';
import { backoffMs, jittered, mayCommunicate } from '../schedule.js';
import { isPeerIdentityError } from '../security.js';
import type { StateStore } from '../state.js';
import { shortMessage } from '../status.js';
import type { DesiredStateSync } from '../sync.js';
import type { CapabilitiesReport } from './capabilities-report.js';

/**
 * The `polling` module: the Margo desired-state sync (ADR 0262). It polls the LO every
 * `poll.intervalSeconds` (jittered, inside the communication windows), backs off while the LO fails,
 * honours a Retry-After for the whole loop (ADR 0340), hands every adopted deployment to the reconciler
 * and sweeps orphans, sends the capabilities before its first poll (and again after a failure), and
 * nudges status delivery whenever the LO answered. `pollNow()` (SIGHUP, a "poll now" notice on the site
 * bus) polls at once; a poll in progress runs once more when it ends.
 */
export interface Polling extends AgentModule {
  pollNow(): void;
}

export function createPolling(o: {
  sync: DesiredStateSync;
  session: MmiSession;
  reconciler: Pick<Reconciler, 'kick' | 'sweepOrphans'>;
  store: StateStore;
  capabilities?: CapabilitiesReport;
  /** Status delivery: told to deliver when the LO answered. */
  flushReports(): void;
  config: AgentConfig;
  clock: Clock;
  logger: Logger;
}): Polling {
  const { sync, session, reconciler, store, config, clock } = o;
  const log = o.logger.child({ component: 'agent' });
  const timers = createTimers();
  const communicating = () => mayCommunicate(config.poll, new Date(clock.now()));
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let again = false;
  let capsSent = false;

  const schedule = (delay: number) => {
    if (stopped) return;
    timers.cancel(timer);
    timer = timers.later(() => {
      timer = undefined;
      run();
    }, delay);
  };

  const run = () => {
    if (stopped) return;
    if (polling) {
      again = true;
      return;
    }
    polling = pollOnce()
      .catch((err: unknown) => log.error({ err: shortMessage(err) }, 'poll failed unexpectedly'))
      .finally(() => {
        polling = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  };

  const pollOnce = async () => {
    const interval = ms(config.poll.intervalSeconds);
    if (!communicating()) {
      log.debug('outside the hours the agent may talk to the LO (downtime or active hours): poll skipped');
      schedule(jittered(interval, config.poll.jitter));
      return;
    }
    let retryAfterMs = 0;
    try {
      if (!capsSent && o.capabilities) {
        const refused = await o.capabilities.send(false);
        capsSent = store.get().capabilities !== undefined;
        // The LO asked for a pause (429/503 with Retry-After): honour it for the whole loop (ADR 0340).
        if (isProblem(refused) && refused.data.retryAfterSeconds !== undefined) throw refused;
      }
      const r = await sync.poll();
      failures = 0;
      if (r.kind === 'adopted') {
        for (const id of r.changed) reconciler.kick(id);
        void reconciler
          .sweepOrphans()
          .catch((err: unknown) => log.warn({ err: shortMessage(err) }, 'orphan sweep failed'));
      }
      o.flushReports();
    } catch (err) {
      failures++;
      if (isProblem(err)) retryAfterMs = (err.data.retryAfterSeconds ?? 0) * 1000;
      if (isPeerIdentityError(err)) {
        // A wrong SPIFFE ID is logged by the SPIFFE check itself; a chain that does not end in our
        // anchors is refused by OpenSSL before that check runs, so it is logged here (once a minute).
        if ((err as { code?: string }).code !== 'identity/peer-rejected')
          session.wrongServerIdentity({ reason: shortMessage(err) });
        log.debug({ err: shortMessage(err) }, 'poll refused: LO identity');
      } else if (isProblem(err) && err.data.type === 'not-authorized') {
        log.error(
          { err: shortMessage(err) },
          'the LO does not authorise this node (revoked?); polling continues',
        );
      } else if (communicating()) {
        (failures === 1 ? log.warn.bind(log) : log.debug.bind(log))(
          { err: shortMessage(err), failures },
          'poll failed',
        );
      }
      store.update((s) => (s.lastError = { at: clock.now(), message: shortMessage(err) }));
      if (!(isProblem(err) && err.data.status < 500)) capsSent = false;
    }
    const wait = failures
      ? backoffMs(failures, interval, Math.max(interval, ms(config.poll.maxBackoffSeconds)))
      : interval;
    // Jitter spreads the polls of a fleet; it never shortens the pause the LO asked for.
    schedule(Math.max(retryAfterMs, jittered(wait, config.poll.jitter)));
  };

  return {
    name: 'polling',
    pollNow: () => run(),
    start: () => run(),
    async stop() {
      stopped = true;
      timers.clear();
      await polling?.catch(() => undefined);
    },
  };
}
