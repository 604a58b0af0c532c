import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { CaInfo, Contract, ClientOf } from '../../../lib/contract/index.js';
import { createPaths, resolveHome } from '../../../lib/base/index.js';

/**
 * `site ca init` with no server running for the home: the CA is made in `<home>/pki/site-ca` for the trust
 * domain of `<home>/config.yaml`, exactly as the server would on its first start (ADR 0321).
 */
async function initCaInHome(
  home: string | undefined,
  force: boolean,
): Promise<{ info: CaInfo; created: boolean }> {
  const paths = createPaths(resolveHome(home));
  const [{ loadConfig }, { silentLogger }, { createSiteIdentity }] = await Promise.all([
    import('../../../core/config-file.js'),
    import('../../../lib/log/index.js'),
    import('../../../core/lo/identity-store.js'),
  ]);
  const config = loadConfig(paths.configFile);
  const identity = createSiteIdentity({
    pkiDir: paths.pkiDir,
    trustDomain: config.mmi.trustDomain,
    wfmId: config.mmi.wfmId,
    siteName: config.site.name,
    logger: silentLogger(),
  });
  const existing = identity.ca();
  const ca = existing && !force ? existing : await identity.initCa({ force, now: Date.now() });
  return {
    info: {
      initialized: true,
      trustDomain: ca.trustDomain,
      fingerprint: ca.fingerprint,
      notAfter: ca.notAfter,
      wfmSpiffeId: identity.wfmSpiffeId,
      mmiUrl: null,
    },
    created: ca !== existing,
  };
}

/** `edgectl site ca init [--force]`: through the running server, or in the home when none runs. */
export function register(ca: Command): void {
  ca.command('init')
    .description(
      'create the site CA (through the running server, or in the home when none runs; the server also creates one on its first start)',
    )
    .option('--force', 'replace an existing CA: every certificate it issued stops working')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { force?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const force = opts.force ?? false;
        const g = globals(cmd);
        let client: ClientOf<Contract> | undefined;
        try {
          client = connect(g).client;
        } catch (err) {
          if (!(err instanceof OutpostError && err.code === 'server-not-running')) throw err;
        }
        let info: CaInfo;
        let created: boolean;
        if (client) {
          const current = await client.identity.ca({});
          created = !current.initialized || force;
          info = created ? await client.identity.initCa({ force }) : current;
        } else {
          ({ info, created } = await initCaInHome(g.home, force));
        }
        await emit(format, info, () =>
          keyValues([
            ['site CA', created ? 'created' : 'already initialised'],
            ['trust domain', info.trustDomain],
            ['fingerprint', info.fingerprint],
            ['valid until', info.notAfter ? new Date(info.notAfter).toISOString() : null],
            ['WFM', info.wfmSpiffeId],
            ['MMI', info.mmiUrl],
          ]),
        );
      }),
    );
}
