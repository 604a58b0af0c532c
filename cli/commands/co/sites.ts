import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat, table } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';

/** `co add|list|show|remove site`, `co add|list orchestrator(s)` */
export function registerAdd(add: Command): void {
  add
    .command('site <id>')
    .description('create a site')
    .option('--name <name>', 'display name')
    .option('--description <text>', 'description')
    .option('--label <key=value>', 'a label (repeatable)', collect)
    .option('--remote', 'the site is served by a remote Local Orchestrator (default: this server)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          id: string,
          opts: { name?: string; description?: string; label?: string[]; remote?: boolean; output?: string },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const s = await client.sites.add({
            id,
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.description ? { description: opts.description } : {}),
            labels: parsePairs(opts.label, 'label'),
            servedBy: opts.remote ? 'remote' : 'embedded',
          });
          emit(
            format,
            s,
            () =>
              `added site ${s.id} (${s.name}), served by ${s.servedBy === 'embedded' ? 'this server' : 'a remote LO'}`,
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
        emit(format, sites, () =>
          sites.length === 0
            ? 'no sites yet (add one with: edgectl co add site <id>)'
            : table(
                ['#', 'ID', 'NAME', 'SERVED BY', 'NODES', 'LABELS'],
                sites.map((s, i) => [
                  i + 1,
                  s.id,
                  s.name,
                  s.servedBy === 'embedded'
                    ? 'this server'
                    : `remote${s.orchestrator ? ` (${s.orchestrator.id})` : ''}`,
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
