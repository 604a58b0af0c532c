import type { Clock } from '../../../lib/base/index.js';
import type { Logger } from '../../../lib/log/index.js';
import type { MmiClient } from '../../margo/mmi-client.js';
import { isProblem } from '../../margo/problem.js';
import { ms, type AgentConfig } from '../config.js';
import { createTimers, type AgentModule } from '../module.js';
import type { Outbox, SendOutcome } from '../outbox.js';
import { backoffMs, jittered, mayCommunicate } from '../schedule.js';
import { isPeerIdentityError } from '../security.js';
import { shortMessage } from '../status.js';

/**
 * The `outbox` module: delivers the queued status reports (agents/node/outbox.ts, ADR 0263) to the LO in
 * order. A report is sent as soon as it is queued (`flush()`); while the LO is away delivery backs off,
 * and a poll that reaches the LO ends the wait early; a Retry-After from the LO holds delivery for at
 * least as long as it asked (ADR 0340). Nothing is sent outside the communication windows.
 */
export interface OutboxDelivery extends AgentModule {
  /** Delivers what is queued, soon (coalesced; a Retry-After in force waits for its timer). */
  flush(): void;
}

export function createOutboxDelivery(o: {
  outbox: Outbox;
  client: MmiClient;
  config: AgentConfig;
  clock: Clock;
  logger: Logger;
}): OutboxDelivery {
  const { outbox, client, config, clock } = o;
  const log = o.logger.child({ component: 'agent' });
  const timers = createTimers();
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let queued = false;
  /** The LO asked for a pause (Retry-After): until it is over only the timer flushes (ADR 0340). */
  let held = false;

  const send = async (e: {
    status: Parameters<MmiClient['postStatus']>[0];
    at: number;
  }): Promise<SendOutcome> => {
    try {
      // The outbox time goes along, so a report queued while the LO was away keeps its time (ADR 0169).
      await client.postStatus(e.status, undefined, e.at);
      return { kind: 'sent' };
    } catch (err) {
      if (isProblem(err)) {
        const p = err.data;
        if (p.retryable || p.status === 401 || p.status === 403 || p.status === 408 || p.status === 429) {
          return {
            kind: 'retry',
            reason: err.message,
            ...(p.retryAfterSeconds !== undefined ? { retryAfterMs: p.retryAfterSeconds * 1000 } : {}),
          };
        }
        return { kind: 'drop', reason: err.message };
      }
      if (isPeerIdentityError(err))
        log.debug({ err: shortMessage(err) }, 'status not sent: LO identity refused');
      return { kind: 'retry', reason: shortMessage(err) };
    }
  };

  const deliver = () => {
    queued = false;
    if (stopped || !mayCommunicate(config.poll, new Date(clock.now()))) return;
    timers.cancel(timer);
    timer = undefined;
    void outbox
      .flush(send)
      .then((r) => {
        if (r.sent || r.dropped) log.debug({ sent: r.sent, dropped: r.dropped }, 'status reports delivered');
        if (!r.stopped) {
          failures = 0;
          return;
        }
        failures++;
        const stoppedBy = r.stopped as Extract<SendOutcome, { kind: 'retry' }>;
        const retryAfter = stoppedBy.retryAfterMs ?? 0;
        // Jitter spreads the backoff; it never shortens the pause the LO asked for.
        const wait = Math.max(
          retryAfter,
          jittered(
            backoffMs(
              failures,
              Math.min(1000, ms(config.poll.intervalSeconds)),
              ms(config.poll.maxBackoffSeconds),
            ),
            config.poll.jitter,
          ),
        );
        log.debug(
          { queued: outbox.size(), retryInMs: wait, reason: stoppedBy.reason },
          'status reports wait for the LO',
        );
        // A plain backoff ends early when a poll shows the LO is back; a Retry-After does not.
        held = retryAfter > 0;
        if (stopped) return;
        timer = timers.later(() => {
          held = false;
          flush();
        }, wait);
      })
      .catch((err: unknown) => log.warn({ err: shortMessage(err) }, 'outbox flush failed'));
  };

  const flush = () => {
    if (stopped || queued || held) return;
    queued = true;
    setImmediate(deliver);
  };

  return {
    name: 'outbox',
    flush,
    start: () => flush(),
    // A delivery in flight ends with the MMI client, which the agent closes after its modules.
    stop() {
      stopped = true;
      timers.clear();
      return Promise.resolve();
    },
  };
}
