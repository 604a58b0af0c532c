import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { readUpload } from '../../lib/upload.js';

/** `edgectl co add app --name <id> --artifact <git URL or path>` */
export function register(add: Command): void {
  add
    .command('app')
    .description(
      'register an application version from a Margo margo.yaml (a local file or folder, or a git repository)',
    )
    .requiredOption(
      '--artifact <url-or-path>',
      'margo.yaml, a folder holding it, or an http(s) git repository URL',
    )
    .option('--name <id>', 'the application id; must match the description')
    .option('--ref <ref>', 'git branch, tag or commit (default: the default branch)')
    .option('--path <path>', 'margo.yaml or its folder inside the git repository')
    .option(
      '--follow-symlinks',
      'upload what a symbolic link given as --artifact points to (default: refuse it)',
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          opts: {
            artifact: string;
            name?: string;
            ref?: string;
            path?: string;
            followSymlinks?: boolean;
            output?: string;
          },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          const isUrl = /^https?:\/\//i.test(opts.artifact);
          if (!isUrl && (opts.ref !== undefined || opts.path !== undefined)) {
            throw new OutpostError(
              'invalid-input',
              `--ref and --path apply to a git URL; ${opts.artifact} is a local path (give margo.yaml or its folder)`,
            );
          }
          const source = isUrl
            ? {
                kind: 'git' as const,
                url: opts.artifact,
                ...(opts.ref ? { ref: opts.ref } : {}),
                ...(opts.path ? { path: opts.path } : {}),
              }
            : {
                kind: 'upload' as const,
                upload: readUpload(opts.artifact, 'margo.yaml', {
                  followSymlinks: opts.followSymlinks ?? false,
                  onNote: (m) => process.stderr.write(`edgectl: ${m}\n`),
                }),
              };
          const { client } = connect(globals(cmd));
          const r = await client.apps.add({ source, ...(opts.name ? { expectId: opts.name } : {}) });
          await emit(format, r, () => {
            const lines = [
              `${r.created ? 'added' : 'already registered'}: ${r.app.id} version ${r.version.version} (${r.version.digest.slice(0, 19)}…)`,
              `versions: ${r.app.versions.join(', ')}`,
            ];
            for (const w of r.version.warnings)
              lines.push(`warning: ${w.path}: ${w.message}${w.line ? ` (line ${w.line})` : ''}`);
            return lines.join('\n');
          });
        },
      ),
    );
}
