import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';

/** `edgectl co add orchestrator <id> --site <site>`: the remote LO serving a site */
export function register(add: Command): void {
  add
    .command('orchestrator <id>')
    .description('register the remote Local Orchestrator serving a site')
    .requiredOption('--site <site>', 'the site it serves')
    .option('--name <name>', 'display name')
    .option('--mmi-url <url>', 'its Margo Management Interface base URL')
    .option('--ca-fingerprint <sha256:...>', 'its site CA fingerprint')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          id: string,
          opts: { site: string; name?: string; mmiUrl?: string; caFingerprint?: string; output?: string },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const o = await client.sites.addOrchestrator({
            id,
            siteId: opts.site,
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.mmiUrl ? { mmiUrl: opts.mmiUrl } : {}),
            ...(opts.caFingerprint ? { caFingerprint: opts.caFingerprint } : {}),
          });
          await emit(format, o, () => `added orchestrator ${o.id} for site ${o.siteId}`);
        },
      ),
    );
}
