import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import { action } from '../../lib/action.js';
import { emit, parseFormat } from '../../lib/output.js';
import { agentHome } from './shared.js';

interface LogsFlags {
  component?: string;
  follow?: boolean;
  tail?: string;
  output?: string;
}

const HELP = `
<deployment> is the deployment's id, its name, or a prefix of either that only one deployment on
this node has (hello-wasm for hello-wasm-1a2b3c4d). Where the output comes from: a WASM module's
stdout and stderr as its runner keeps them in the agent home; containers and compose services
through podman logs. The same is in the console (a deployment's node, Logs) while the node is
connected to its LO.

Examples:
  edgectl agent logs hello-wasm
  edgectl agent logs hello-wasm --follow          # until Ctrl-C
  edgectl agent logs 1a2b3c4d --component web --tail 20 -o json
`;

/** `edgectl agent logs <deployment>`: the output of a deployment's workloads on this node, from the agent home. */
export function register(agent: Command): void {
  agent
    .command('logs')
    .description("show a deployment's workload output on this node (all components, or --component)")
    .argument('<deployment>', 'deployment id, name, or a unique prefix of either')
    .option('--component <name>', 'only this component')
    .option('-f, --follow', 'keep printing new output until Ctrl-C')
    .option('--tail <n>', 'the last N lines of each component first (default 100)')
    .option('-o, --output <format>', 'table, json or yaml (not with --follow)')
    .addHelpText('after', HELP)
    .action(
      action(async (query: string, opts: LogsFlags, cmd: Command) => {
        const format = parseFormat(opts.output);
        if (opts.follow && format !== 'table')
          throw new OutpostError('invalid-input', '--follow prints lines as they come: it takes no -o');
        const tail = opts.tail === undefined ? undefined : Number(opts.tail);
        const paths = agentHome(cmd);
        const { findDeployment, readWorkloadLogs, followWorkloadLogs, checkTail } =
          await import('../../../agents/node/workload-logs.js');
        checkTail(tail);
        const d = findDeployment(paths, query);
        const multi = (components: number) => (component: string, line: string) =>
          components > 1 ? `${component} | ${line}` : line;
        if (opts.follow) {
          const ac = new AbortController();
          const stop = () => ac.abort();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          const { logSources } = await import('../../../agents/node/workload-logs.js');
          const prefix = multi(logSources(d, opts.component).length);
          try {
            await followWorkloadLogs(paths, d, {
              ...(opts.component ? { component: opts.component } : {}),
              ...(tail === undefined ? {} : { tail }),
              signal: ac.signal,
              onLine: (component, line) => process.stdout.write(`${prefix(component, line)}\n`),
            });
          } finally {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
          }
          return;
        }
        const logs = await readWorkloadLogs(paths, d, {
          ...(opts.component ? { component: opts.component } : {}),
          ...(tail === undefined ? {} : { tail }),
        });
        await emit(format, { deploymentId: d.deploymentId, name: d.name, components: logs }, () => {
          const prefix = multi(logs.length);
          const out: string[] = [];
          for (const c of logs) {
            if (c.note) process.stderr.write(`edgectl: ${c.component}: ${c.note}\n`);
            for (const l of c.lines) out.push(prefix(c.component, l));
          }
          return out.join('\n');
        });
      }),
    );
}
