import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';
import { formatBytes } from '../../../lib/contract/index.js';

/** `edgectl bundle drives`: removable drives on the server and the bundles on them. */
export function register(bundle: Command): void {
  bundle
    .command('drives')
    .description(
      'removable drives mounted on the server, and the bundles on them (what they claim, not verified)',
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.bundle.drives({});
        await emit(format, r, () => {
          if (!r.watching) return r.error ?? 'drives are not watched';
          if (r.drives.length === 0) return 'no removable drive is mounted';
          const rows: (string | number | null)[][] = [];
          for (const d of r.drives) {
            rows.push([
              d.mountpoint,
              [d.vendor, d.model, d.label].filter(Boolean).join(' ') || d.device,
              d.freeBytes === null ? null : `${formatBytes(d.freeBytes)} free`,
              null,
            ]);
            for (const b of d.bundles)
              rows.push([
                `  ${b.name}`,
                b.error ?? `${b.kind} ${b.source} -> ${b.target} #${b.sequence}`,
                formatBytes(b.size),
                b.forHere
                  ? 'for this server: edgectl bundle verify / import'
                  : b.imported
                    ? 'imported'
                    : null,
              ]);
          }
          return table(['DRIVE / FILE', 'WHAT', 'SIZE', 'NOTE'], rows);
        });
      }),
    );
}
