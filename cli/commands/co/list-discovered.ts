import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, parseFormat, table } from '../../lib/output.js';
import { shortFingerprint } from '../../../lib/discovery/index.js';

/** `edgectl co list discovered`: agents found on the LAN by the LO, and rival LOs for our sites (ADR 0460). */
export function register(list: Command): void {
  list
    .command('discovered')
    .description('machines found on the network (agents advertising _outpost-agent._tcp) and LO conflicts')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.discovery.status({});
        await emit(format, r, () => {
          const lines: string[] = [];
          lines.push(
            r.advertising
              ? `advertising "${r.advertising.name}" on ${r.advertising.interfaces.join(', ')}: site ${r.advertising.siteId} at ${r.advertising.mmiUrl}`
              : `not advertising${r.note ? `: ${r.note}` : ''}`,
          );
          lines.push(
            r.agents.length === 0
              ? 'no agents found on the network'
              : table(
                  ['INSTANCE', 'HOST', 'ADDRESS', 'KEY', 'NODE', 'REQUEST', 'SEEN'],
                  r.agents.map((a) => [
                    a.instance,
                    a.host,
                    a.addresses.join(','),
                    a.shortFingerprint,
                    a.enrolledAs ?? a.nodeId ?? 'not enrolled',
                    a.requestId,
                    `${formatAge(r.now - a.lastSeen)} ago`,
                  ]),
                ),
          );
          for (const c of r.conflicts)
            lines.push(
              `CONFLICT: "${c.instance}" at ${c.mmiUrl}${c.from ? ` (from ${c.from})` : ''} advertises site ${c.siteId} with another CA ${shortFingerprint(c.caFingerprint)}`,
            );
          return lines.join('\n');
        });
      }),
    );
}
