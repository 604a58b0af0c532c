import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { writeFileSafe } from './shared.js';

/** `edgectl site ca export --out <file>`: the trust anchors (PEM). */
export function register(ca: Command): void {
  ca.command('export')
    .description('write the trust anchors (PEM) that clients and conformance testers need')
    .requiredOption('--out <file>', 'where to write them')
    .option('--force', 'replace an existing file')
    .action(
      action(async (opts: { out: string; force?: boolean }, cmd: Command) => {
        const { client } = connect(globals(cmd));
        const r = await client.identity.exportCa({});
        writeFileSafe(opts.out, r.anchorsPem.join(''), 0o644, opts.force ?? false);
        process.stdout.write(`wrote ${opts.out} (${r.trustDomain}, ${r.fingerprint})\n`);
      }),
    );
}
