import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';
import { formatBytes } from '../../lib/format.js';

/** `edgectl registry gc [--dry-run]`: remove what no tag and no deployment references. */
export function register(registry: Command): void {
  registry
    .command('gc')
    .description(
      'remove blobs and untagged manifests of the site registry that no tag and no deployment references',
    )
    .option('--dry-run', 'only report what would be removed')
    .option(
      '--grace <seconds>',
      'keep anything younger than this (pushes in progress); default registry.gcGraceSeconds (1 hour)',
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { dryRun?: boolean; grace?: string; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        let graceSeconds: number | undefined;
        if (opts.grace !== undefined) {
          graceSeconds = Number(opts.grace);
          if (!/^\d+(\.\d+)?$/.test(opts.grace) || !Number.isFinite(graceSeconds))
            throw new OutpostError('invalid-input', `--grace: "${opts.grace}" is not a number of seconds`);
        }
        const { client } = connect(globals(cmd));
        const r = await client.registry.gc({
          dryRun: opts.dryRun ?? false,
          ...(graceSeconds === undefined ? {} : { graceSeconds }),
        });
        const verb = r.dryRun ? 'would remove' : 'removed';
        await emit(format, r, () =>
          keyValues([
            [verb, `${r.blobsRemoved} blob(s), ${formatBytes(r.bytesRemoved)}`],
            [`${r.dryRun ? 'would unlink' : 'unlinked'}`, `${r.manifestsRemoved} untagged manifest(s)`],
            ['uploads dropped', r.uploadsRemoved],
            ['kept', `${r.blobsKept} blob(s), ${formatBytes(r.bytesKept)}; ${r.manifestsKept} manifest(s)`],
            [
              'not in the registry',
              r.missingRoots.length
                ? r.missingRoots
                    .map((m) => `${m.repository}${m.reference.includes(':') ? '@' : ':'}${m.reference}`)
                    .join(', ')
                : '-',
            ],
          ]),
        );
      }),
    );
}
