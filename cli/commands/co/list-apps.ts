import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** `edgectl co list apps`: a numbered table of the App Store. */
export function register(list: Command): void {
  list
    .command('apps')
    .description('list the applications of the App Store')
    .option('--search <text>', 'only apps whose id, name, tagline or vendor contains the text')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { search?: string; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { apps } = await client.apps.list(opts.search ? { search: opts.search } : {});
        await emit(format, apps, () =>
          apps.length === 0
            ? 'no applications yet (add one with: edgectl co add app --artifact <path or git URL>)'
            : table(
                ['#', 'NAME', 'VERSION', 'VENDOR/SITE', 'ID'],
                apps.map((a, i) => [
                  i + 1,
                  a.name,
                  a.latestVersion + (a.versions.length > 1 ? ` (+${a.versions.length - 1})` : ''),
                  [a.vendor, a.site].filter(Boolean).join(' / ') || null,
                  a.id,
                ]),
              ),
        );
      }),
    );
}
