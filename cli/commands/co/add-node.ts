import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';

/**
 * `edgectl co add node <name> --site <site>`; with `--csr` or `--certificate`, a third-party Margo device
 * enrolled now (ADR 0463).
 */
export function register(add: Command): void {
  add
    .command('node <name>')
    .description(
      'register a node (host) at a site before it enrolls; or enroll a third-party Margo device now by its own CSR (--csr) or by a certificate from a CA the site trusts (--certificate)',
    )
    .requiredOption('--site <site>', 'the site')
    .option('--model <id>', 'its device model')
    .option('--label <key=value>', 'a label (repeatable)', collect)
    .option(
      '--csr <file>',
      "the device's own CSR (PEM, ECDSA P-256): sign it, write its SVID and the trust bundle",
    )
    .option(
      '--certificate <file>',
      'a device certificate issued by a CA added with "edgectl site ca trust add", for this node\'s SPIFFE ID',
    )
    .option(
      '--out <dir>',
      'with --csr or --certificate: where to write <name>-svid.pem and <name>-trust-bundle.pem',
      '.',
    )
    .option('--force', 'replace existing files in --out')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          name: string,
          opts: {
            site: string;
            model?: string;
            label?: string[];
            csr?: string;
            certificate?: string;
            out: string;
            force?: boolean;
            output?: string;
          },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          if (opts.csr && opts.certificate)
            throw new OutpostError('invalid-input', 'give --csr or --certificate, not both');
          const labels = parsePairs(opts.label, 'label');
          const { client } = connect(globals(cmd));
          if (!opts.csr && !opts.certificate) {
            const n = await client.nodes.add({
              name,
              siteId: opts.site,
              ...(opts.model ? { modelId: opts.model } : {}),
              labels,
            });
            await emit(format, n, () => `added node ${n.name} at site ${n.siteId} (client id ${n.uid})`);
            return;
          }
          const file = (opts.csr ?? opts.certificate)!;
          const pem = readPem(file, opts.csr ? '--csr' : '--certificate');
          const svidFile = path.join(opts.out, `${name}-svid.pem`);
          const bundleFile = path.join(opts.out, `${name}-trust-bundle.pem`);
          for (const f of opts.csr ? [svidFile, bundleFile] : [bundleFile])
            if (fs.existsSync(f) && !opts.force)
              throw new OutpostError('already-exists', `${f} already exists (use --force)`);
          const common = {
            node: name,
            siteId: opts.site,
            ...(opts.model ? { modelId: opts.model } : {}),
            ...(Object.keys(labels).length ? { labels } : {}),
          };
          const r = opts.csr
            ? await client.identity.signNodeCsr({ ...common, csrPem: pem })
            : await client.identity.registerNodeCertificate({ ...common, certPem: pem });
          fs.mkdirSync(opts.out, { recursive: true });
          if (opts.csr) fs.writeFileSync(svidFile, r.certPem, { mode: 0o644 });
          fs.writeFileSync(bundleFile, r.anchorsPem.join(''), { mode: 0o644 });
          await emit(format, r, () =>
            keyValues([
              ['node', `${name} at site ${opts.site} (enrolled)`],
              ['SPIFFE ID', r.spiffeId],
              ['serial', r.serialHex],
              ['valid until', new Date(r.notAfter).toISOString()],
              ['SVID', opts.csr ? svidFile : null],
              ['trust bundle', bundleFile],
              ['MMI', r.mmiUrl],
            ]),
          );
        },
      ),
    );
}

function readPem(file: string, option: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new OutpostError(
      'invalid-input',
      `${option}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}
