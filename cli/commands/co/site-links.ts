import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, parseFormat, table } from '../../lib/output.js';

/** `edgectl co sites`: each site's link to this server (leaf link state and since when), backlog, data age. */
export function register(co: Command): void {
  co.command('sites')
    .description(
      "show each site's link to this server from evidence (probe answers, deliveries): connected, unreachable since when, backlog, age of its newest data; at an LO, its own link to the CO and outgoing backlog",
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
            (nats && nats.state !== 'running'
              ? `nats: ${nats.state}${nats.message ? `: ${nats.message}` : ''}\n`
              : '') +
            (r.role === 'lo' ? "this LO's link to its CO (BACKLOG: what waits here to go up)\n" : '');
          if (r.links.length === 0)
            return `${head}no site links yet (a remote site joins with the leaf credentials this CO issues)`;
          const repaired = r.links
            .filter((l) => (l.repairs ?? 0) > 0)
            .map(
              (l) =>
                `${l.siteId}: the link watchdog re-created a stalled stream ${l.repairs} time${l.repairs === 1 ? '' : 's'}${l.lastRepairAt ? `, last ${formatAge(now - l.lastRepairAt)} ago` : ''}`,
            );
          return (
            head +
            table(
              ['SITE', 'LINK', 'SINCE', 'BACKLOG', 'LAST CONTACT', 'DATA AGE'],
              r.links.map((l) => [
                l.siteId,
                l.link,
                // For an unreachable link: since its newest evidence ("unreachable since 2m 5s ago").
                l.since === null ? null : `${formatAge(now - l.since)} ago`,
                // Unknown (the link is not known to work) is "-", never 0.
                l.backlog,
                l.lastContactSeconds === null ? null : `${formatAge(l.lastContactSeconds * 1000)} ago`,
                l.dataAgeSeconds === null ? 'no data yet' : formatAge(l.dataAgeSeconds * 1000),
              ]),
            ) +
            (repaired.length ? `\n${repaired.join('\n')}` : '')
          );
        });
      }),
    );
}
