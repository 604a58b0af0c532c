import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';
import { collect, parseDuration } from '../../lib/args.js';
import { OutpostError } from '../../../lib/errors/index.js';
import { ROLES, ROLE_SUMMARY, type Role } from '../../../lib/contract/index.js';
import { formatTime } from './shared.js';

/** Roles from `--role a --role b` or `--role a,b`, checked against the known ones. */
export function parseRoleList(values: string[]): Role[] {
  const out: Role[] = [];
  for (const v of values.flatMap((x) => x.split(','))) {
    const r = v.trim();
    if (!r) continue;
    if (!(ROLES as readonly string[]).includes(r))
      throw new OutpostError('invalid-input', `--role: unknown role "${r}" (use ${ROLES.join(', ')})`);
    out.push(r as Role);
  }
  if (out.length === 0)
    throw new OutpostError('invalid-input', `--role is required (one of ${ROLES.join(', ')})`);
  return out;
}

/** `edgectl co add token --name N --role R [--tenant T] [--ttl D]`: a new API token, shown once. */
export function register(add: Command): void {
  add
    .command('token')
    .description(
      'create an API token with one or more roles in a tenant, or the admin role (printed once; use it with --token or EDGE_TOKEN)',
    )
    .requiredOption('--name <name>', 'what (or who) the token is for')
    .option('--role <role>', `a role, repeatable or comma-separated: ${ROLES.join(', ')}`, collect, [])
    .option(
      '--ttl <duration>',
      'expire after this long (30m, 12h, 7d, 2w); default: never (or with your own token)',
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .addHelpText(
      'after',
      `\nRoles:\n${ROLES.map((r) => `  ${r.padEnd(17)} ${ROLE_SUMMARY[r]}`).join('\n')}\n\nThe tenant is yours, or the one --tenant names (administrators). A token never gets a role\nits maker lacks, nor outlives it; revoking a token revokes the tokens it made.`,
    )
    .action(
      action(async (opts: { name: string; role: string[]; ttl?: string; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const roles = parseRoleList(opts.role);
        const ttlSeconds = opts.ttl === undefined ? undefined : parseDuration(opts.ttl, '--ttl');
        const { client } = connect(globals(cmd));
        const r = await client.tenants.createToken({
          name: opts.name,
          roles,
          ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
        });
        await emit(format, r, () =>
          [
            r.token,
            '',
            keyValues([
              ['id', r.info.id],
              ['tenant', r.info.tenantId],
              ['roles', r.info.roles.join(', ')],
              ['expires', r.info.expiresAt === null ? 'never' : formatTime(r.info.expiresAt)],
            ]),
            '',
            'The token is shown only now: keep it somewhere safe.',
          ].join('\n'),
        );
      }),
    );
}
