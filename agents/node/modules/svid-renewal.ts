import type { Clock } from '../../../lib/base/index.js';
import type { Logger } from '../../../lib/log/index.js';
import { isProblem } from '../../margo/problem.js';
import { ms, type AgentConfig } from '../config.js';
import type { AgentPaths } from '../home.js';
import { certValidity } from '../identity.js';
import type { MmiSession } from '../mmi-session.js';
import { createTimers, type AgentModule } from '../module.js';
import { backoffMs, jittered, mayCommunicate } from '../schedule.js';
import { shortMessage } from '../status.js';

/** Longest sleep between two looks at the SVID's renewal time. */
const RENEW_CHECK_MAX_MS = 3600_000;

/**
 * The `renewal` module: renews the node SVID when `identity.renewWhenRemaining` of its lifetime is left
 * (ADR 0380), with backoff after a failure (a Retry-After from the LO wins); the MMI session then uses
 * the new key and SVID for every new request. The renewal code is loaded with import() when it is due.
 */
export function createSvidRenewal(o: {
  session: MmiSession;
  paths: AgentPaths;
  config: AgentConfig;
  clock: Clock;
  logger: Logger;
}): AgentModule {
  const { session, config, clock } = o;
  const log = o.logger.child({ component: 'agent' });
  const timers = createTimers();
  let stopped = false;
  let failures = 0;
  let renewing: Promise<void> | undefined;

  /** When the current SVID is due for renewal (epoch ms). */
  const dueAt = () => {
    const v = certValidity(session.identity().certPem);
    return v.notAfter - config.identity.renewWhenRemaining * (v.notAfter - v.notBefore);
  };
  const schedule = (delay: number) => {
    if (stopped) return;
    // Never sleep longer than an hour: timers cannot wait a whole SVID lifetime, and the wall clock may jump.
    timers.later(() => void renewIfDue(), Math.min(Math.max(0, delay), RENEW_CHECK_MAX_MS));
  };
  const renewIfDue = async (): Promise<void> => {
    if (stopped || renewing) return;
    const wait = dueAt() - clock.now();
    if (wait > 0) return schedule(wait);
    if (!mayCommunicate(config.poll, new Date(clock.now()))) return schedule(ms(config.poll.intervalSeconds));
    renewing = renewOnce().finally(() => (renewing = undefined));
    return renewing;
  };
  const renewOnce = async (): Promise<void> => {
    const previous = certValidity(session.identity().certPem);
    try {
      const { renewIdentity } = await import('../renew.js');
      const next = await renewIdentity({
        paths: o.paths,
        identity: session.identity(),
        client: session.client,
        clock,
        logger: o.logger,
      });
      if (stopped) return;
      session.replace(next);
      failures = 0;
      log.info(
        {
          spiffeId: next.enrollment.spiffeId,
          previousNotAfter: new Date(previous.notAfter).toISOString(),
          notAfter: new Date(next.enrollment.notAfter).toISOString(),
        },
        'node SVID renewed; new connections use the new key and certificate',
      );
      schedule(dueAt() - clock.now());
    } catch (err) {
      if (stopped) return;
      failures++;
      const retryAfter = isProblem(err) ? (err.data.retryAfterSeconds ?? 0) * 1000 : 0;
      const wait = Math.max(
        retryAfter,
        jittered(
          backoffMs(failures, ms(config.identity.retrySeconds), ms(config.identity.maxRetrySeconds)),
          config.poll.jitter,
        ),
      );
      const expired = clock.now() >= previous.notAfter;
      (expired || failures > 3 ? log.error.bind(log) : log.warn.bind(log))(
        {
          err: shortMessage(err),
          failures,
          notAfter: new Date(previous.notAfter).toISOString(),
          retryInMs: wait,
        },
        expired
          ? 'SVID renewal failed and the SVID has expired: the LO will refuse this node until it is enrolled again (edgectl agent enroll --force)'
          : 'SVID renewal failed; the current SVID stays in use and renewal is tried again',
      );
      schedule(wait);
    }
  };

  return {
    name: 'renewal',
    start: () => void renewIfDue(),
    async stop() {
      stopped = true;
      timers.clear();
      await renewing?.catch(() => undefined);
    },
  };
}
