import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat } from '../../lib/output.js';
import type { SystemStatus } from '../../../lib/contract/index.js';
import { OutpostError } from '../../../lib/errors/index.js';

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
    .option(
      '--wait <seconds>',
      'wait up to this long for a server that is starting (e.g. right after "edgectl server &")',
    )
    .action(
      action(async (opts: { output?: string; wait?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const waitS = opts.wait === undefined ? 0 : Number(opts.wait);
        if (!Number.isFinite(waitS) || waitS < 0 || waitS > 3600)
          throw new OutpostError(
            'invalid-input',
            `--wait: "${opts.wait}" is not a number of seconds (0-3600)`,
          );
        const deadline = Date.now() + waitS * 1000;
        let answer: { s: SystemStatus; url: string };
        for (;;) {
          try {
            const { client, url } = connect(globals(cmd));
            answer = { s: await client.system.status({}), url };
            break;
          } catch (err) {
            const starting =
              err instanceof OutpostError &&
              (err.code === 'server-not-running' || err.code === 'network-error');
            if (!starting || Date.now() >= deadline) throw err;
            await new Promise((r) => setTimeout(r, 250));
          }
        }
        const { s, url } = answer;
        await emit(format, s, () =>
          keyValues([
            ['server', url],
            ['version', s.version],
            ['role', `${s.role} (${s.roles.join(', ')})`],
            ['uptime', formatAge(s.uptimeSeconds * 1000)],
            ['tenant', s.tenant],
            ['site', `${s.site.name} (${s.site.id})`],
            ['data directory', s.home ?? '(administrators only)'],
            [
              'database',
              s.database.file
                ? `${s.database.file} (schema ${s.database.schemaVersion})`
                : `schema ${s.database.schemaVersion}`,
            ],
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
