import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat } from '../../lib/output.js';
import type { SystemStatus } from '../../../lib/contract/index.js';

/**
 * What the LO serves, since when it was adopted and when its source was last read, and the current
 * failure in the operator's terms: REFUSED is only a rewritten history (nothing changed); a source that
 * cannot be reached (network, timeout) is UNREACHABLE since the first failure of the run.
 */
export function desiredLine(s: SystemStatus): string | null {
  const d = s.desiredState;
  if (!d) return null;
  const ago = (at: number) => `${formatAge(s.now - at)} ago`;
  const facts = [
    d.adoptedAt ? `adopted ${ago(d.adoptedAt)}` : null,
    d.checkedAt ? `source read ${ago(d.checkedAt)}` : null,
  ].filter(Boolean);
  const serving = d.commit
    ? `commit ${d.commit.slice(0, 12)}${facts.length ? ` (${facts.join(', ')})` : ''}`
    : 'nothing adopted yet';
  if (!d.lastError) return serving;
  const since = d.failingSince ?? d.lastErrorAt;
  const when =
    since === null
      ? ''
      : ` since ${ago(since)}${d.lastErrorAt !== null && d.lastErrorAt !== since ? ` (last try ${ago(d.lastErrorAt)})` : ''}`;
  const kind = d.lastErrorKind ?? 'refused';
  const word =
    kind === 'refused'
      ? `REFUSED${d.lastErrorAt ? ` ${ago(d.lastErrorAt)}` : ''}`
      : kind === 'unreachable'
        ? `source UNREACHABLE${when}`
        : `source FAILING${when}`;
  return `${serving}; ${word}: ${d.lastError}`;
}

/** `edgectl co status`: what the server reports about itself. */
export function register(co: Command): void {
  co.command('status')
    .description('show the control plane status (version, roles, uptime, database, NATS, counts)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client, url } = connect(globals(cmd));
        const s = await client.system.status({});
        await emit(format, s, () =>
          keyValues([
            ['server', url],
            ['version', s.version],
            ['role', `${s.role} (${s.roles.join(', ')})`],
            ['uptime', formatAge(s.uptimeSeconds * 1000)],
            ['tenant', s.tenant],
            ['site', `${s.site.name} (${s.site.id})`],
            ['data directory', s.home],
            ['database', `${s.database.file} (schema ${s.database.schemaVersion})`],
            [
              'nats',
              s.nats
                ? `${s.nats.state}${s.nats.url ? ` at ${s.nats.url}` : ''}${s.nats.message ? `: ${s.nats.message}` : ''} (for ${formatAge(s.now - s.nats.since)})`
                : 'not configured',
            ],
            ['desired state', desiredLine(s)],
            ['apps', s.counts.apps],
            ['device models', s.counts.deviceModels],
            ['sites', s.counts.sites],
            ['nodes', s.counts.nodes],
            ['deployments', s.counts.deployments],
          ]),
        );
      }),
    );
}
