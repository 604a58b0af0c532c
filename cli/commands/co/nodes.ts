import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat, table } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Node } from '../../../lib/contract/index.js';

/** Presence with its age, e.g. `online (3s ago)`, `unknown (never seen)`. */
export function presenceText(n: Node, now: number): string {
  if (n.lastSeenAt === null) return `${n.presence} (never seen)`;
  return `${n.presence} (${formatAge(now - n.lastSeenAt)} ago)`;
}

function capsSummary(n: Node): string | null {
  const p = n.capabilities?.properties;
  if (!p) return null;
  const cpus = (p.cpus ?? []).reduce((s, c) => s + c.cores, 0);
  const arch = [...new Set((p.cpus ?? []).map((c) => c.architecture).filter(Boolean))].join('/');
  return (
    [
      cpus ? `${cpus} cpu${arch ? ` ${arch}` : ''}` : '',
      p.memory ? `mem ${p.memory}` : '',
      p.storage ? `disk ${p.storage}` : '',
    ]
      .filter(Boolean)
      .join(', ') || null
  );
}

export function registerAdd(add: Command): void {
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
            emit(format, n, () => `added node ${n.name} at site ${n.siteId} (client id ${n.uid})`);
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
          emit(format, r, () =>
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

export function registerList(list: Command): void {
  list
    .command('nodes')
    .description('list nodes with their presence and its age (never shown online unless recently seen)')
    .option('--site <site>', 'only this site')
    .option('--selector <key=value>', 'only nodes with this label (repeatable, ANDed)', collect)
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { site?: string; selector?: string[]; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const selector = parsePairs(opts.selector, 'selector');
        const r = await client.nodes.list({
          ...(opts.site ? { siteId: opts.site } : {}),
          ...(Object.keys(selector).length ? { selector } : {}),
        });
        emit(format, r, () =>
          r.nodes.length === 0
            ? 'no nodes'
            : table(
                ['#', 'NAME', 'SITE', 'STATE', 'PRESENCE', 'MODEL', 'CORDONED', 'CAPACITY', 'LABELS'],
                r.nodes.map((n, i) => [
                  i + 1,
                  n.name,
                  n.siteId,
                  n.state,
                  presenceText(n, r.now),
                  n.modelId,
                  n.cordoned ? 'yes' : 'no',
                  capsSummary(n),
                  Object.entries(n.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(',') || null,
                ]),
              ) +
              `\n(stale after ${r.staleAfterSeconds}s without contact, offline after ${r.offlineAfterSeconds}s)`,
        );
      }),
    );
}

export function registerShow(show: Command): void {
  show
    .command('node <name>')
    .description('show a node, its capabilities and child devices')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (name: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const n = await client.nodes.get({ name });
        const now = Date.now();
        emit(format, n, () =>
          keyValues([
            ['name', n.name],
            ['client id', n.uid],
            ['site', n.siteId],
            ['state', n.state],
            ['presence', presenceText(n, now)],
            ['model', n.modelId],
            ['cordoned', n.cordoned ? 'yes' : 'no'],
            [
              'labels',
              Object.entries(n.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || null,
            ],
            [
              'capabilities',
              n.capabilitiesAt
                ? `reported ${formatAge(now - n.capabilitiesAt)} ago: ${capsSummary(n) ?? '-'}`
                : 'not reported yet',
            ],
            ['children', n.children.map((c) => c.deviceId).join(', ') || null],
          ]),
        );
      }),
    );
}

export function registerVerbs(co: Command): void {
  co.command('label <node> <changes...>')
    .description('set (key=value) or remove (key-) operator labels on a node')
    .action(
      action(async (name: string, changes: string[], _opts: object, cmd: Command) => {
        const set: Record<string, string> = {};
        const remove: string[] = [];
        for (const c of changes) {
          if (c.endsWith('-') && !c.includes('=')) remove.push(c.slice(0, -1));
          else Object.assign(set, parsePairs([c], 'label'));
        }
        if (!remove.length && !Object.keys(set).length)
          throw new OutpostError('invalid-input', 'give key=value to set or key- to remove');
        const { client } = connect(globals(cmd));
        const n = await client.nodes.label({ name, set, remove });
        process.stdout.write(
          `${n.name}: ${
            Object.entries(n.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ') || 'no labels'
          }\n`,
        );
      }),
    );
  co.command('cordon <node>')
    .description('stop placing new deployments on a node')
    .action(
      action(async (name: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.nodes.cordon({ name });
        process.stdout.write(`${name} cordoned\n`);
      }),
    );
  co.command('uncordon <node>')
    .description('allow placement on a node again')
    .action(
      action(async (name: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.nodes.uncordon({ name });
        process.stdout.write(`${name} uncordoned\n`);
      }),
    );
  co.command('set-model <node> <model>')
    .description('link a node to a device model ("none" to unlink)')
    .action(
      action(async (name: string, model: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.nodes.setModel({ name, modelId: model === 'none' ? null : model });
        process.stdout.write(`${name}: model ${model}\n`);
      }),
    );
}

export function registerRemove(remove: Command): void {
  remove
    .command('node <name>')
    .description('remove a node that has no deployments')
    .action(
      action(async (name: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.nodes.remove({ name });
        process.stdout.write(`removed node ${name}\n`);
      }),
    );
}
