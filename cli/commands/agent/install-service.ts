import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { globals } from '../../lib/context.js';

/** `edgectl agent install-service [--dry-run] [--unit-dir DIR]`: writes the systemd unit for the agent. */
export function register(agent: Command): void {
  agent
    .command('install-service')
    .description(
      'install the systemd unit outpost-agent.service (then: systemctl daemon-reload && systemctl enable --now outpost-agent)',
    )
    .option('--unit-dir <dir>', 'where to write the unit', '/etc/systemd/system')
    .option('--lo <url>', "put --lo <url> on the unit's command line")
    .option('--dry-run', 'print the unit instead of writing it')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        const opts = cmd.optsWithGlobals<{ unitDir: string; lo?: string; dryRun?: boolean }>();
        const fs = await import('node:fs');
        const [{ renderUnit, installUnit }, { projectRoot }, { SYSTEM_AGENT_HOME }] = await Promise.all([
          import('../../../agents/node/systemd.js'),
          import('../../../lib/base/index.js'),
          import('../../../agents/node/home.js'),
        ]);
        const root = projectRoot();
        const home = path.resolve(globals(cmd).home ?? process.env.EDGE_AGENT_HOME ?? SYSTEM_AGENT_HOME);
        const template = fs.readFileSync(
          path.join(root, 'resources', 'systemd', 'outpost-agent.service'),
          'utf8',
        );
        const text = renderUnit({
          template,
          node: process.execPath,
          edgectl: path.join(root, 'bin', 'edgectl.js'),
          home,
          root,
          ...(opts.lo ? { lo: opts.lo } : {}),
        });
        if (opts.dryRun) {
          process.stdout.write(text);
          return;
        }
        const file = installUnit(path.resolve(opts.unitDir), text);
        process.stdout.write(
          `wrote ${file}\nnext: systemctl daemon-reload && systemctl enable --now outpost-agent\n`,
        );
      }),
    );
}
