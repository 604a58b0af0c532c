import fs from 'node:fs';
import path from 'node:path';
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
    .option(
      '--out <dir>',
      "write the hub's CA certificate (hub-ca.pem) here, for the LO's nats.hubCaFile",
      '.',
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (site: string, opts: { rotate?: boolean; out: string; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.messaging.linkSite({ siteId: site, rotate: opts.rotate ?? false });
        let caFile: string | undefined;
        if (r.hubCaPem) {
          caFile = path.resolve(opts.out, 'hub-ca.pem');
          fs.mkdirSync(path.dirname(caFile), { recursive: true });
          fs.writeFileSync(caFile, r.hubCaPem, { mode: 0o644 });
        }
        await emit(format, r, () =>
          r.hubLeafUrl
            ? `# in the site LO's <home>/config.yaml (keep it secret: it holds the leaf password)\nrole: lo\nsite:\n  id: ${site}\n  name: ${site}\nnats:\n  hubLeafUrl: ${r.hubLeafUrl}${caFile ? `\n  hubCaFile: ${caFile}   # copy this file to the LO host` : ''}`
            : `leaf user ${r.user} issued for ${site}, but this CO's NATS leaf port is not known yet (is nats-server running?)`,
        );
      }),
    );
}
