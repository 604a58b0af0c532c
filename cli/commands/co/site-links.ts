import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, parseFormat, table } from '../../lib/output.js';

/** `edgectl co sites`: each site's link to this server (leaf link state and since when), backlog, data age. */
export function register(co: Command): void {
  co.command('sites')
    .description(
      "show each site's link to this server: state and since when, backlog, age of its newest data",
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const [r, status] = await Promise.all([client.messaging.siteLinks({}), client.system.status({})]);
        const now = status.now;
        await emit(format, r, () => {
          const nats = status.nats;
          const head =
            nats && nats.state !== 'running'
              ? `nats: ${nats.state}${nats.message ? `: ${nats.message}` : ''}\n`
              : '';
          if (r.links.length === 0)
            return `${head}no site links yet (a remote site joins with the leaf credentials this CO issues)`;
          return (
            head +
            table(
              ['SITE', 'LINK', 'SINCE', 'BACKLOG', 'LAST CONTACT', 'DATA AGE'],
              r.links.map((l) => [
                l.siteId,
                l.link,
                l.since === null ? null : `${formatAge(now - l.since)} ago`,
                l.backlog,
                l.lastContactSeconds === null ? null : `${formatAge(l.lastContactSeconds * 1000)} ago`,
                l.dataAgeSeconds === null ? 'no data yet' : formatAge(l.dataAgeSeconds * 1000),
              ]),
            )
          );
        });
      }),
    );
}
