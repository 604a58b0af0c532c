import type { Clock } from '../../../lib/base/index.js';
import type { AgentBus, LogsReply, LogsRequest } from '../../../lib/bus/index.js';
import type { Logger } from '../../../lib/log/index.js';
import type { Enrollment, NatsCredentials } from '../identity.js';
import type { AgentModule } from '../module.js';
import { shortMessage } from '../status.js';

/**
 * The `bus` module (optional; `nats.enabled` and NATS credentials from the enrollment): connects to the
 * site's NATS bus for "poll now" notices and presence heartbeats (ADR 0164). Without it the agent polls
 * only. The NATS client is loaded with import() when the module starts; it connects in the background.
 */
export function createSiteBus(o: {
  nats: NatsCredentials;
  enrollment: Enrollment;
  anchorsFile: string;
  version: string;
  /** Monotonic ms when the agent started (uptime in heartbeats). */
  started: number;
  onPollNow(): void;
  /** Answers the LO's requests for a deployment's workload output (ADR 0016); `maxBytes` caps one answer. */
  onLogsRequest?(request: LogsRequest, maxBytes: number): Promise<LogsReply>;
  clock: Clock;
  logger: Logger;
}): AgentModule {
  const { nats, clock } = o;
  const log = o.logger.child({ component: 'agent' });
  let stopped = false;
  let bus: AgentBus | undefined;

  const connect = async () => {
    try {
      const { connectAgentBus, LOGS_REPLY_MAX_BYTES } = await import('../../../lib/bus/index.js');
      const b = await connectAgentBus({
        url: nats.url,
        seed: nats.seed,
        user: nats.user,
        ...(nats.tls ? { tls: { caFile: o.anchorsFile } } : {}),
        nodeUid: o.enrollment.clientId,
        siteId: o.enrollment.siteId,
        clock,
        logger: o.logger,
        heartbeatInfo: () => ({
          agent: o.version,
          uptimeS: Math.round((clock.monotonic() - o.started) / 1000),
        }),
      });
      if (stopped) {
        await b.close();
        return;
      }
      bus = b;
      b.onPollNow(() => o.onPollNow());
      const answerLogs = o.onLogsRequest;
      if (answerLogs) b.onLogsRequest((req) => answerLogs(req, LOGS_REPLY_MAX_BYTES));
      log.info({ url: nats.url }, 'connected to the site bus (poll-now notices, presence)');
    } catch (err) {
      log.warn({ err: shortMessage(err) }, 'no site bus; polling only');
    }
  };

  return {
    name: 'bus',
    start() {
      // In the background: a connection that ends after stop() closes itself.
      void connect();
    },
    async stop() {
      stopped = true;
      await bus?.close().catch(() => undefined);
    },
  };
}
