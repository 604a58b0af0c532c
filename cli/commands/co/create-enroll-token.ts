import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { OutpostError } from '../../../lib/errors/index.js';
import { emit, parseFormat } from '../../lib/output.js';

/** `--ttl`: `30m`, `2h`, `1d` or plain minutes. */
function minutes(v: string): number {
  const m = /^(\d+)\s*(m|min|h|d)?$/.exec(v.trim());
  if (!m) throw new OutpostError('invalid-input', `--ttl: "${v}" is not a duration like 30m, 2h or 1d`);
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 60 : m[2] === 'd' ? n * 1440 : n;
}

/** `edgectl co enroll-token create --node <name> --site <site>`: a one-time token, as text and QR */
export function register(enrollToken: Command): void {
  enrollToken
    .command('create')
    .description(
      'create a one-time token a node enrolls with (edgectl agent enroll --token T); prints it as text and QR',
    )
    .requiredOption('--node <name>', 'the node (registered if it is not yet)')
    .requiredOption('--site <site>', 'its site')
    .option('--ttl <duration>', 'how long the token is valid (default 60m)', '60m')
    .option('--no-qr', 'do not print the QR code')
    .option('-q, --quiet', 'print only the token (for a pipe: ... -q | edgectl agent enroll --token-file -)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          opts: { node: string; site: string; ttl: string; qr: boolean; quiet?: boolean; output?: string },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          if (opts.quiet && opts.output !== undefined)
            throw new OutpostError('invalid-input', 'give -q or -o, not both');
          const { client } = connect(globals(cmd));
          const r = await client.identity.createEnrollToken({
            node: opts.node,
            siteId: opts.site,
            ttlMinutes: minutes(opts.ttl),
          });
          if (opts.quiet) {
            process.stdout.write(`${r.token}\n`);
            return;
          }
          if (format !== 'table') {
            await emit(format, r, () => '');
            return;
          }
          const lines = [
            r.token,
            '',
            `node ${r.nodeUid} at site ${r.siteId}; expires ${new Date(r.expiresAt).toISOString()}; works once`,
            `site CA ${r.caFingerprint}`,
          ];
          if (r.mmiUrl) lines.push(`on the node: edgectl agent enroll --lo ${r.mmiUrl} --token <token>`);
          process.stdout.write(lines.join('\n') + '\n');
          if (opts.qr && process.stdout.isTTY) {
            const QRCode = (await import('qrcode')).default;
            process.stdout.write('\n' + (await QRCode.toString(r.token, { type: 'terminal', small: true })));
          }
        },
      ),
    );
}
