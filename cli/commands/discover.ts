import { type Command, Option } from 'commander';
import { action } from '../lib/action.js';
import { emit, parseFormat, table } from '../lib/output.js';
import { OutpostError } from '../../lib/errors/index.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * `edgectl discover [--type lo|agent|<name>]`: browses the LAN for DNS-SD services for a while and lists
 * them, with our TXT records decoded (docs/discovery.md). A look, not a trust decision: enrolling pins the CA.
 */
export function register(program: Command): void {
  program
    .command('discover')
    .description('list Outpost LOs (or agents, or any DNS-SD service type) advertised on the LAN over mDNS')
    .addOption(new Option('--type <type>', 'lo, agent, or a service name like http').default('lo'))
    .option('--interface <if>', 'browse on this interface (name or IPv4; repeatable)', collect)
    .option('--timeout <seconds>', 'how long to listen', '3')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { type: string; interface?: string[]; timeout: string; output?: string }) => {
        const format = parseFormat(opts.output);
        const seconds = Number(opts.timeout);
        if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600)
          throw new OutpostError(
            'invalid-input',
            `--timeout: "${opts.timeout}" is not a number of seconds (1-600)`,
          );
        const [
          { browse, LO_SERVICE, AGENT_SERVICE, parseLoTxt, parseAgentTxt, shortFingerprint },
          { silentLogger },
        ] = await Promise.all([import('../../lib/discovery/index.js'), import('../../lib/log/index.js')]);
        const type = opts.type === 'lo' ? LO_SERVICE : opts.type === 'agent' ? AGENT_SERVICE : opts.type;
        if (!/^[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?$/.test(type))
          throw new OutpostError(
            'invalid-input',
            `--type: "${opts.type}" is not lo, agent or a DNS-SD service name`,
          );
        const browser = await browse({
          type,
          ...(opts.interface?.length ? { interfaces: opts.interface } : {}),
          logger: silentLogger(),
        });
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        try {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, seconds * 1000);
            abort.signal.addEventListener('abort', () => {
              clearTimeout(t);
              resolve();
            });
          });
        } finally {
          process.off('SIGINT', onSignal);
          await browser.stop();
        }
        const services = browser.list().map((s) => ({
          ...s,
          lo: type === LO_SERVICE ? (parseLoTxt(s.txt) ?? null) : null,
          agent: type === AGENT_SERVICE ? (parseAgentTxt(s.txt) ?? null) : null,
        }));
        await emit(format, { type: `_${type}._tcp`, services }, () =>
          services.length === 0
            ? `no _${type}._tcp services found in ${seconds} s`
            : table(
                ['INSTANCE', 'HOST', 'ADDRESS', 'PORT', 'DETAILS'],
                services.map((s) => [
                  s.name,
                  s.host,
                  (s.addresses.length ? s.addresses : [s.from ?? '']).join(','),
                  s.port,
                  s.lo
                    ? `site ${s.lo.siteId}, ${s.lo.mmiUrl}, CA ${shortFingerprint(s.lo.caFingerprint)}, v${s.lo.version}`
                    : s.agent
                      ? `key ${shortFingerprint(s.agent.keyFingerprint)}${s.agent.nodeId ? `, node ${s.agent.nodeId}` : ', not enrolled'}, v${s.agent.version}`
                      : Object.entries(s.txt)
                          .map(([k, v]) => `${k}=${v}`)
                          .join(' '),
                ]),
              ),
        );
      }),
    );
}
