import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat, table } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';
import type { EnrollRequestView } from '../../../lib/contract/index.js';

/**
 * Enrollment by approval (ADR 0462): `co list requests`, `co approve <request> --node N --site S`,
 * `co reject <request>`. The code and the key fingerprint are what the waiting node prints: compare them.
 */

function hardware(r: EnrollRequestView): string | null {
  const h = r.hardware;
  if (!h) return null;
  return [h.arch, h.cores !== undefined ? `${String(h.cores)} cores` : undefined, h.memory, h.os]
    .filter((v) => v !== undefined && v !== null)
    .map(String)
    .join(', ');
}

export function registerList(list: Command): void {
  list
    .command('requests')
    .description(
      'enrollment requests of nodes waiting for approval (compare code and fingerprint with the node)',
    )
    .option('--all', 'also decided and expired ones')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { all?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.enrollRequests.list({ all: opts.all ?? false });
        emit(format, r, () =>
          r.requests.length === 0
            ? opts.all
              ? 'no enrollment requests'
              : 'no pending enrollment requests'
            : table(
                ['ID', 'STATE', 'HOSTNAME', 'ADDRESS', 'CODE', 'KEY', 'HARDWARE', 'ASKED', 'EXPIRES', 'NODE'],
                r.requests.map((q) => [
                  q.id,
                  q.state,
                  q.hostname ?? q.requestedName,
                  q.address,
                  q.code,
                  q.shortFingerprint,
                  hardware(q),
                  `${formatAge(r.now - q.createdAt)} ago`,
                  q.state === 'pending' ? `in ${formatAge(q.expiresAt - r.now)}` : null,
                  q.nodeName ? `${q.nodeName}@${q.siteId}` : null,
                ]),
              ),
        );
      }),
    );
}

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

export function registerApprove(co: Command): void {
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
          emit(format, r, () => `approved ${r.id}: node ${r.nodeName} at site ${r.siteId}\n${show(r)}`);
        },
      ),
    );
}

export function registerReject(co: Command): void {
  co.command('reject <request>')
    .description('reject an enrollment request: the waiting node is told so and stops')
    .option('--reason <text>', 'why (the node shows it)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (id: string, opts: { reason?: string; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.enrollRequests.reject({ id, ...(opts.reason ? { reason: opts.reason } : {}) });
        emit(format, r, () => `rejected ${r.id}`);
      }),
    );
}
