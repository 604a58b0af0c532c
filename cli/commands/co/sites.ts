import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat, table } from '../../lib/output.js';
import { describeAsOf, describeSiteReach } from '../../../lib/contract/index.js';
import { collect, parsePairs } from '../../lib/args.js';
import { OutpostError } from '../../../lib/errors/index.js';

/** `co add|list|show|remove site`, `co add|list orchestrator(s)` */
export function registerAdd(add: Command): void {
  add
    .command('site <id>')
    .description('create a site')
    .option('--name <name>', 'display name')
    .option('--description <text>', 'description')
    .option('--label <key=value>', 'a label (repeatable)', collect)
    .option('--remote', 'the site is served by a remote Local Orchestrator (default: this server)')
    .option(
      '--air-gapped',
      'the site is reached only by signed bundles on removable drives (served by its own LO; no bus link, no git push)',
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          id: string,
          opts: {
            name?: string;
            description?: string;
            label?: string[];
            remote?: boolean;
            airGapped?: boolean;
            output?: string;
          },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const s = await client.sites.add({
            id,
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.description ? { description: opts.description } : {}),
            labels: parsePairs(opts.label, 'label'),
            ...(opts.remote || opts.airGapped ? { servedBy: 'remote' as const } : {}),
            airGapped: opts.airGapped === true,
          });
          emit(
            format,
            s,
            () =>
              `added site ${s.id} (${s.name}), served by ${s.servedBy === 'embedded' ? 'this server' : 'a remote LO'}${s.airGapped ? ', air-gapped: carry bundles with edgectl bundle export --site ' + s.id : ''}`,
          );
        },
      ),
    );
  add
    .command('orchestrator <id>')
    .description('register the remote Local Orchestrator serving a site')
    .requiredOption('--site <site>', 'the site it serves')
    .option('--name <name>', 'display name')
    .option('--mmi-url <url>', 'its Margo Management Interface base URL')
    .option('--ca-fingerprint <sha256:...>', 'its site CA fingerprint')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          id: string,
          opts: { site: string; name?: string; mmiUrl?: string; caFingerprint?: string; output?: string },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const o = await client.sites.addOrchestrator({
            id,
            siteId: opts.site,
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.mmiUrl ? { mmiUrl: opts.mmiUrl } : {}),
            ...(opts.caFingerprint ? { caFingerprint: opts.caFingerprint } : {}),
          });
          emit(format, o, () => `added orchestrator ${o.id} for site ${o.siteId}`);
        },
      ),
    );
}

export function registerList(list: Command): void {
  list
    .command('sites')
    .description('list the sites')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { sites } = await client.sites.list({});
        const now = Date.now();
        emit(format, sites, () =>
          sites.length === 0
            ? 'no sites yet (add one with: edgectl co add site <id>)'
            : table(
                ['#', 'ID', 'NAME', 'SERVED BY', 'REACHED', 'NODES', 'LABELS'],
                sites.map((s, i) => [
                  i + 1,
                  s.id,
                  s.name,
                  s.servedBy === 'embedded'
                    ? 'this server'
                    : `remote${s.orchestrator ? ` (${s.orchestrator.id})` : ''}`,
                  describeSiteReach(s, now),
                  s.nodeCount,
                  Object.entries(s.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(',') || null,
                ]),
              ),
        );
      }),
    );
}

export function registerListOrchestrators(list: Command): void {
  list
    .command('orchestrators')
    .description('list the remote Local Orchestrators and the sites they serve')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { orchestrators } = await client.sites.listOrchestrators({});
        const now = Date.now();
        emit(format, orchestrators, () =>
          orchestrators.length === 0
            ? 'no remote Local Orchestrators (register one with: edgectl co add orchestrator <id> --site S)'
            : table(
                ['#', 'ID', 'SITE', 'NAME', 'MMI URL', 'LAST SEEN'],
                orchestrators.map((o, i) => [
                  i + 1,
                  o.id,
                  o.siteId,
                  o.name,
                  o.mmiUrl,
                  o.lastSeenAt === null ? 'never' : `${formatAge(now - o.lastSeenAt)} ago`,
                ]),
              ),
        );
      }),
    );
}

export function registerShow(show: Command): void {
  show
    .command('site <id>')
    .description('show a site')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (id: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const s = await client.sites.get({ id });
        emit(format, s, () =>
          keyValues([
            ['id', s.id],
            ['name', s.name],
            ['description', s.description],
            ['served by', s.servedBy === 'embedded' ? 'this server' : 'remote LO'],
            ['reached', describeSiteReach(s, Date.now())],
            [
              'last bundle to site',
              s.bundles?.toSite
                ? `#${s.bundles.toSite.sequence}, made ${formatAge(Date.now() - s.bundles.toSite.created)} ago`
                : null,
            ],
            [
              'last status bundle',
              s.bundles?.fromSite
                ? `#${s.bundles.fromSite.sequence}, ${describeAsOf(s.bundles.fromSite.created, Date.now())}`
                : null,
            ],
            [
              'orchestrator',
              s.orchestrator ? `${s.orchestrator.id} ${s.orchestrator.mmiUrl ?? ''}`.trim() : null,
            ],
            ['nodes', s.nodeCount],
            [
              'labels',
              Object.entries(s.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || null,
            ],
          ]),
        );
      }),
    );
}

/** `co set-site <id> --air-gapped|--connected` */
export function registerSet(co: Command): void {
  co.command('set-site <id>')
    .description('change how a site is reached: --air-gapped (signed bundles only) or --connected')
    .option('--air-gapped', 'reached only by signed bundles on removable drives')
    .option('--connected', 'reached over the network (bus link, git)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          id: string,
          opts: { airGapped?: boolean; connected?: boolean; output?: string },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          if (opts.airGapped === opts.connected)
            throw new OutpostError('invalid-input', 'give exactly one of --air-gapped and --connected');
          const { client } = connect(globals(cmd));
          const s = await client.sites.set({ id, airGapped: opts.airGapped === true });
          emit(format, s, () => `site ${s.id}: ${describeSiteReach(s, Date.now())}`);
        },
      ),
    );
}

export function registerRemove(remove: Command): void {
  remove
    .command('site <id>')
    .description('remove a site that has no nodes')
    .action(
      action(async (id: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.sites.remove({ id });
        process.stdout.write(`removed site ${id}\n`);
      }),
    );
}
