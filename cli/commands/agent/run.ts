import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { OutpostError } from '../../../lib/errors/index.js';
import { AGENT_VERSION, agentHome, enrollFlow, enrollOptions, type EnrollFlowOptions } from './shared.js';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** `edgectl agent [--lo URL] [--token T]`: runs the agent in the foreground until SIGTERM/SIGINT. */
export function register(program: Command): Command {
  const cmd = program
    .command('agent')
    .description(
      'run the edge node agent headless (Margo WFM client); subcommands enroll it and show its state',
    )
    .option('--lo <url>', "the LO's Margo Management Interface URL (default: from the enrollment)")
    .option(
      '--token <token>',
      'enroll first with this one-time token when the node is not enrolled yet (or EDGE_AGENT_TOKEN)',
    )
    .option('--token-file <file>', 'read the enrollment token from a file ("-" for stdin)')
    .option('--log-level <level>', `${LEVELS.join(', ')} (default: agent.yaml, else info)`);
  return enrollOptions(cmd).action(
    action(async (opts: EnrollFlowOptions & { logLevel?: string }, cmd: Command) => {
      if (opts.logLevel && !LEVELS.includes(opts.logLevel))
        throw new OutpostError(
          'invalid-input',
          `--log-level: "${opts.logLevel}" is not one of ${LEVELS.join(', ')}`,
        );
      const paths = agentHome(cmd);
      const [{ createLineLogger }, { systemClock }, { loadAgentConfig }, { isEnrolled }, { startAgent }] =
        await Promise.all([
          import('../../../lib/log/index.js'),
          import('../../../lib/base/index.js'),
          import('../../../agents/node/config.js'),
          import('../../../agents/node/identity.js'),
          import('../../../agents/node/agent.js'),
        ]);
      const config = loadAgentConfig(paths.configFile);
      // The line logger: pino's JSON lines without pino's files in the long-running agent (ADR 0546).
      const logger = createLineLogger({
        level: (opts.logLevel ?? config.logging.level) as 'info',
        name: 'outpost-agent',
      });
      if (!isEnrolled(paths)) {
        if (!opts.token && !opts.tokenFile && !process.env.EDGE_AGENT_TOKEN && !opts.request) {
          throw new OutpostError(
            'agent/not-enrolled',
            `this agent is not enrolled (${paths.home}); run "edgectl agent enroll --lo <URL> --token <TOKEN>", or pass --token, or --discover --request to ask for approval`,
          );
        }
        const e = await enrollFlow(opts, {
          paths,
          clock: systemClock,
          logger,
          version: AGENT_VERSION,
          say: (line) => process.stderr.write(`edgectl: ${line}\n`),
        });
        process.stderr.write(`edgectl: enrolled as ${e.clientId} at ${e.mmiUrl}\n`);
      }
      const agent = await startAgent({
        home: paths.home,
        ...(opts.lo ? { lo: opts.lo } : {}),
        logger,
        clock: systemClock,
        version: AGENT_VERSION,
        config,
      });
      process.stderr.write(`edgectl: agent ${agent.deviceId} running (home ${paths.home})\n`);
      await new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = (sig: NodeJS.Signals) => {
          signals++;
          if (signals > 1) process.exit(1);
          process.stderr.write(`edgectl: ${sig} received, stopping the agent (workloads keep running)\n`);
          agent.stop().then(resolve, (err: unknown) => {
            process.stderr.write(`edgectl: error while stopping: ${(err as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        process.on('SIGHUP', () => agent.pollNow());
      });
      logger.flush();
    }),
  );
}
