import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { emit, formatAge, keyValues, parseFormat, table } from '../../lib/output.js';
import { agentHome, waitUntilReporting } from './shared.js';

/** `edgectl agent status`: the agent's identity, LO, last sync, manifestVersion and workloads with their restarts, from its files. */
export function register(agent: Command): void {
  agent
    .command('status')
    .description(
      "show the agent's identity, LO, last successful sync, manifestVersion and workloads (works offline)",
    )
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .option('--wait <seconds>', 'first wait up to this long for a running agent that has reported to its LO')
    .action(
      action(async (opts: { output?: string; wait?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const paths = agentHome(cmd);
        if (opts.wait !== undefined) await waitUntilReporting(paths, opts.wait);
        const [{ readAgentStatus }, { loadAgentConfig }] = await Promise.all([
          import('../../../agents/node/status-view.js'),
          import('../../../agents/node/config.js'),
        ]);
        let deviceId: string | undefined;
        let siteRegistry: string | false | undefined;
        try {
          const config = loadAgentConfig(paths.configFile);
          deviceId = config.deviceId;
          siteRegistry = config.registries.siteRegistry;
        } catch {
          deviceId = undefined;
        }
        const now = Date.now();
        const s = readAgentStatus(paths, now, deviceId, siteRegistry);
        const age = (t: number | null) =>
          t === null ? 'never' : `${new Date(t).toISOString()} (${formatAge(now - t)} ago)`;
        await emit(format, s, () => {
          if (!s.enrolled)
            return `not enrolled (${s.home}); run: edgectl agent enroll --lo <URL> --token <TOKEN>`;
          const head = keyValues([
            ['Node', `${s.node} (device ${s.deviceId}, client ${s.clientId})`],
            ['SPIFFE ID', s.spiffeId],
            ['Site', s.site],
            ['LO', s.lo],
            ['Site registry', s.siteRegistry ?? 'none (artifacts come from their own registries)'],
            ['Agent', s.agent.running ? `running (pid ${s.agent.pid})` : 'not running'],
            ['Last sync', age(s.lastSync)],
            [
              'Manifest',
              s.manifestVersion
                ? `version ${s.manifestVersion} (adopted ${age(s.manifestAdoptedAt)})`
                : 'none adopted yet',
            ],
            [
              'Last error',
              s.lastError ? `${s.lastError.message} (${formatAge(now - s.lastError.at)} ago)` : null,
            ],
            ['Queued reports', s.queuedReports],
            [
              'SVID expires',
              s.svidNotAfter
                ? `${new Date(s.svidNotAfter).toISOString()}${s.svidRenewedAt ? ` (renewed ${age(s.svidRenewedAt)})` : ''}`
                : null,
            ],
            ['Home', s.home],
          ]);
          if (s.deployments.length === 0) return `${head}\n\nno deployments`;
          // The agent's restarts of each component (ADR 0207): the deployment's row has their sum.
          const restarts = (d: (typeof s.deployments)[number], component?: string) => {
            const records = Object.entries(d.restarts ?? {})
              .filter(([name]) => component === undefined || name === component)
              .map(([, r]) => r);
            return records.length ? records.reduce((n, r) => n + r.restarts, 0) : null;
          };
          const rows = s.deployments.flatMap((d) => [
            [
              d.name || d.deploymentId,
              d.deploymentId,
              d.desired ? d.state : `${d.state} (leaving)`,
              d.adoptedManifestVersion,
              d.since === null ? null : `${formatAge(now - d.since)} ago`,
              restarts(d),
              [
                d.error?.message,
                d.cacheOverLimit
                  ? `needs ${d.cacheOverLimit.neededBytes} bytes of cache, more than cache.maxBytes ${d.cacheOverLimit.maxBytes}`
                  : undefined,
              ]
                .filter(Boolean)
                .join('; ') || null,
            ],
            ...d.components.map((c) => [
              `  ${c.name}`,
              '',
              c.state,
              '',
              '',
              restarts(d, c.name),
              c.error?.message,
            ]),
          ]);
          return `${head}\n\n${table(['DEPLOYMENT', 'ID', 'STATE', 'MANIFEST', 'SINCE', 'RESTARTS', 'ERROR'], rows)}`;
        });
      }),
    );
}
