import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';
import type { EnrollRequestView } from '../../../lib/contract/index.js';

function show(r: EnrollRequestView): string {
  return keyValues([
    ['request', r.id],
    ['state', r.state],
    ['node', r.nodeName ? `${r.nodeName} at site ${r.siteId}` : null],
    ['hostname', r.hostname],
    ['address', r.address],
    ['code', r.code],
    ['key', r.keyFingerprint],
    ['decided by', r.decidedBy],
    ['reason', r.reason],
  ]);
}

/** `edgectl co approve <request> --node N --site S`: the waiting node gets its SVID (ADR 0462). */
export function register(co: Command): void {
  co.command('approve <request>')
    .description('approve an enrollment request: the waiting node gets its SVID and starts')
    .requiredOption('--node <name>', 'the node name to enroll it as')
    .requiredOption('--site <site>', 'the site of the node')
    .option('--model <id>', 'its device model')
    .option('--label <key=value>', 'an operator label (repeatable)', collect)
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          id: string,
          opts: { node: string; site: string; model?: string; label?: string[]; output?: string },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const labels = parsePairs(opts.label, 'label');
          const r = await client.enrollRequests.approve({
            id,
            node: opts.node,
            siteId: opts.site,
            ...(opts.model ? { modelId: opts.model } : {}),
            ...(Object.keys(labels).length ? { labels } : {}),
          });
          await emit(format, r, () => `approved ${r.id}: node ${r.nodeName} at site ${r.siteId}\n${show(r)}`);
        },
      ),
    );
}
