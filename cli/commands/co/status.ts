import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat } from '../../lib/output.js';
import type { SystemStatus } from '../../../lib/contract/index.js';

/** What the LO serves, and its last refusal (loud: a rewritten history changes nothing). */
function desiredLine(s: SystemStatus): string | null {
  const d = s.desiredState;
  if (!d) return null;
  const serving = d.commit
    ? `commit ${d.commit.slice(0, 12)}${d.adoptedAt ? ` (adopted ${formatAge(s.now - d.adoptedAt)} ago)` : ''}`
    : 'nothing adopted yet';
  return d.lastError
    ? `${serving}; REFUSED${d.lastErrorAt ? ` ${formatAge(s.now - d.lastErrorAt)} ago` : ''}: ${d.lastError}`
    : serving;
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
