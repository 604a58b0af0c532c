import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';

/** `edgectl co link-site <site>`: leaf credentials for the remote LO of a site. */
export function register(co: Command): void {
  co.command('link-site <site>')
    .description(
      "issue the leaf credentials a remote site's LO joins this CO's bus with (prints its config.yaml lines)",
    )
    .option('--rotate', 'issue new credentials; the old ones stop working')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (site: string, opts: { rotate?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.messaging.linkSite({ siteId: site, rotate: opts.rotate ?? false });
        emit(format, r, () =>
          r.hubLeafUrl
            ? `# in the site LO's <home>/config.yaml (keep it secret: it holds the leaf password)\nrole: lo\nsite:\n  id: ${site}\n  name: ${site}\nnats:\n  hubLeafUrl: ${r.hubLeafUrl}`
            : `leaf user ${r.user} issued for ${site}, but this CO's NATS leaf port is not known yet (is nats-server running?)`,
        );
      }),
    );
}
