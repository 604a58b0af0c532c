import { type Command, Option } from 'commander';
import { action } from '../lib/action.js';
import { globals } from '../lib/context.js';
import { resolveHome } from '../../lib/base/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { ROLES, type Role } from '../../core/roles.js';

/** `edgectl server`: the headless control plane (CO, LO or both) with the console API and web portal. */
export function register(program: Command): void {
  program
    .command('server')
    .description('run the control plane headless (console API, web portal, embedded services)')
    .addOption(new Option('--role <role>', 'which tiers to run').choices(ROLES))
    .option(
      '--port <n>',
      'console API port (0 picks free ports for every listener: console, MMI, NATS, site registry)',
    )
    .option('--host <addr>', 'address to bind (default 127.0.0.1)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .action(
      action(async (opts: { role?: Role; port?: string; host?: string; logLevel?: string }, cmd: Command) => {
        const g = globals(cmd);
        const home = resolveHome(g.home);
        const port = opts.port === undefined ? undefined : parsePort(opts.port);
        // Signals are handled from the start: one arriving while the server starts stops it once it is up.
        let stopRequested: NodeJS.Signals | undefined;
        let onStopRequested: (() => void) | undefined;
        let signals = 0;
        const onSignal = (sig: NodeJS.Signals) => {
          signals++;
          if (signals > 1) {
            process.stderr.write(`edgectl: second ${sig}, exiting now\n`);
            process.exit(1);
          }
          process.stderr.write(`edgectl: ${sig} received, stopping (in-flight requests finish first)\n`);
          stopRequested = sig;
          onStopRequested?.();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        const { startHost } = await import('../../core/server/host.js');
        // Crash tests (issue 13): OUTPOST_FAILPOINT=<name> kills this process at that point of a bundle import.
        const failpointName = process.env.OUTPOST_FAILPOINT;
        const host = await startHost({
          home,
          ...(failpointName
            ? {
                failpoint: (name: string) => {
                  if (name === failpointName) {
                    process.stderr.write(`edgectl: failpoint ${name}: killing the server\n`);
                    process.kill(process.pid, 'SIGKILL');
                  }
                },
              }
            : {}),
          overrides: {
            ...(opts.role ? { role: opts.role } : {}),
            server: { ...(port === undefined ? {} : { port }), ...(opts.host ? { host: opts.host } : {}) },
            // --port 0: every listener takes a free port (several servers on one machine, tests).
            ...(port === 0
              ? { nats: { port: 0, leafPort: 0 }, mmi: { port: 0 }, registry: { port: 0, loopbackPort: 0 } }
              : {}),
            ...(opts.logLevel ? { logging: { level: opts.logLevel as 'info' } } : {}),
          },
        });
        if (!stopRequested) {
          process.stdout.write(
            `Outpost ${host.info.version} (${host.info.role}) listening on ${host.info.url}\n`,
          );
          // Never the administrator token: output ends up in logs and journals (ADR 0523). Who runs
          // this can read it from server.json, or make a token of their own with `co add token`.
          process.stdout.write(
            `console: ${host.info.url}/ (sign in with an API token: edgectl co add token --name <you> --role <role>)\n`,
          );
          process.stdout.write(`data: ${home}\n`);
          // The start's code is compiled now: the launcher may keep V8's code cache for the next start
          // (bin/edgectl.js, ADR 0560). Nothing listens when the server runs otherwise.
          (process as NodeJS.EventEmitter).emit('outpost:warm');
          await new Promise<void>((resolve) => {
            onStopRequested = resolve;
          });
        }
        try {
          await host.stop();
        } catch (err) {
          process.stderr.write(`edgectl: error while stopping: ${(err as Error).message}\n`);
          process.exitCode = 1;
        }
      }),
    );
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new OutpostError('invalid-input', `--port: "${v}" is not a port number (0-65535)`);
  return n;
}
