import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat, table } from '../../lib/output.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { CaInfo, Contract, ClientOf } from '../../../lib/contract/index.js';
import { loadConfig } from '../../../core/config-file.js';
import { silentLogger } from '../../../lib/log/index.js';
import { createPaths, resolveHome } from '../../../lib/base/index.js';

function writeFileSafe(file: string, content: string, mode: number, force: boolean): void {
  if (fs.existsSync(file) && !force)
    throw new OutpostError('already-exists', `${file} already exists (use --force to replace it)`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}

/**
 * A client SVID only works at the MMI of the CA that signed it. This server's CA serves its own site and the
 * sites it serves itself (`servedBy: embedded`), and only when it runs an LO; a site behind a remote LO has
 * that LO's CA (ADR 0320).
 */
async function requireServedHere(client: ClientOf<Contract>, site: string | undefined): Promise<void> {
  const status = await client.system.status({});
  if (!status.roles.includes('lo')) {
    throw new OutpostError(
      'invalid-input',
      'this server (role co) does not serve the Margo Management Interface; issue the client at the LO of its site',
    );
  }
  if (site === undefined || site === status.site.id) return;
  const s = await client.sites.get({ id: site });
  if (s.servedBy === 'remote') {
    const where = s.orchestrator?.mmiUrl ? ` at ${s.orchestrator.mmiUrl}` : '';
    throw new OutpostError(
      'invalid-input',
      `site "${site}" is served by its own LO${where}, whose CA this server does not hold; issue the client there`,
    );
  }
}

/**
 * `site ca init` with no server running for the home: the CA is made in `<home>/pki/site-ca` for the trust
 * domain of `<home>/config.yaml`, exactly as the server would on its first start (ADR 0321).
 */
async function initCaInHome(
  home: string | undefined,
  force: boolean,
): Promise<{ info: CaInfo; created: boolean }> {
  const paths = createPaths(resolveHome(home));
  const config = loadConfig(paths.configFile);
  const { createSiteIdentity } = await import('../../../core/lo/identity-store.js');
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

/** `edgectl site ...`: the Local Orchestrator's identity (site CA, client SVIDs, accepted-client policy). */
export function register(program: Command): void {
  const site = program
    .command('site')
    .description('the site (LO) identity: CA, client certificates, accepted-client policy')
    .option('--server <url>', 'console API URL (default: from <home>/run/server.json)')
    .option('--token <token>', 'API token (default: from server.json, or EDGE_TOKEN)');

  const ca = site.command('ca').description('the site CA');
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
        emit(format, info, () =>
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
  ca.command('export')
    .description('write the trust anchors (PEM) that clients and conformance testers need')
    .requiredOption('--out <file>', 'where to write them')
    .option('--force', 'replace an existing file')
    .action(
      action(async (opts: { out: string; force?: boolean }, cmd: Command) => {
        const { client } = connect(globals(cmd));
        const r = await client.identity.exportCa({});
        writeFileSafe(opts.out, r.anchorsPem.join(''), 0o644, opts.force ?? false);
        process.stdout.write(`wrote ${opts.out} (${r.trustDomain}, ${r.fingerprint})\n`);
      }),
    );

  // Other CAs whose client certificates the site accepts once registered for a node (ADR 0463).
  const trust = ca.command('trust').description("other CAs in the site's trust (third-party devices)");
  trust
    .command('add <file>')
    .description(
      "add a CA certificate (PEM) to the site's trust; its certificates still need `co add node --certificate`",
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (file: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        let certPem: string;
        try {
          certPem = fs.readFileSync(file, 'utf8');
        } catch (e) {
          throw new OutpostError(
            'invalid-input',
            `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          );
        }
        const { client } = connect(globals(cmd));
        const r = await client.identity.trustCa({ certPem });
        emit(
          format,
          r,
          () => `trusted ${r.subject} (${r.fingerprint}) until ${new Date(r.notAfter).toISOString()}`,
        );
      }),
    );
  trust
    .command('list')
    .description("the CAs in the site's trust besides the site CA")
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.identity.trustedCas({});
        emit(format, r, () =>
          r.cas.length === 0
            ? 'no other CAs trusted'
            : table(
                ['FINGERPRINT', 'SUBJECT', 'NOT AFTER', 'ADDED BY'],
                r.cas.map((c) => [c.fingerprint, c.subject, new Date(c.notAfter).toISOString(), c.addedBy]),
              ),
        );
      }),
    );
  trust
    .command('remove <fingerprint>')
    .description("remove a CA from the site's trust (its certificates are refused from the next handshake)")
    .action(
      action(async (fingerprint: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.identity.untrustCa({ fingerprint });
        process.stdout.write(`removed ${fingerprint} from the site's trust\n`);
      }),
    );

  const clientCmd = site.command('client').description('client certificates issued by the site');
  clientCmd
    .command('issue')
    .description(
      'issue an SVID and key for a client that cannot make a CSR (e.g. a Margo conformance tester)',
    )
    .requiredOption('--client-id <id>', 'the client id (last segment of its SPIFFE ID)')
    .option('--site <site>', 'the site whose MMI the client will call (refused unless this server serves it)')
    .requiredOption(
      '--out <dir>',
      'folder for client-svid-cert.pem, client-svid-key.pem, trust-bundle-ca.pem',
    )
    .option('--ttl <hours>', 'validity in hours')
    .option('--no-allow', 'do not add it to the accepted-client policy')
    .option('--force', 'replace existing files')
    .action(
      action(
        async (
          opts: {
            clientId: string;
            site?: string;
            out: string;
            ttl?: string;
            allow: boolean;
            force?: boolean;
          },
          cmd: Command,
        ) => {
          const ttlHours = opts.ttl === undefined ? undefined : Number(opts.ttl);
          if (ttlHours !== undefined && !(ttlHours > 0))
            throw new OutpostError('invalid-input', `--ttl: "${opts.ttl}" is not a number of hours`);
          for (const f of ['client-svid-cert.pem', 'client-svid-key.pem', 'trust-bundle-ca.pem']) {
            if (fs.existsSync(path.join(opts.out, f)) && !opts.force)
              throw new OutpostError(
                'already-exists',
                `${path.join(opts.out, f)} already exists (use --force)`,
              );
          }
          const { client } = connect(globals(cmd));
          await requireServedHere(client, opts.site);
          const r = await client.identity.issueClient({
            clientId: opts.clientId,
            allow: opts.allow,
            ...(ttlHours ? { ttlHours } : {}),
          });
          writeFileSafe(path.join(opts.out, 'client-svid-key.pem'), r.keyPem, 0o600, true);
          writeFileSafe(path.join(opts.out, 'client-svid-cert.pem'), r.certPem, 0o644, true);
          writeFileSafe(path.join(opts.out, 'trust-bundle-ca.pem'), r.anchorsPem.join(''), 0o644, true);
          process.stdout.write(
            `issued ${r.spiffeId} until ${new Date(r.notAfter).toISOString()} into ${opts.out}${opts.allow ? ' (allowed)' : ''}\n`,
          );
        },
      ),
    );

  const clients = site.command('clients').description('the accepted-client policy');
  for (const effect of ['allow', 'deny'] as const) {
    clients
      .command(`${effect} <spiffe-id>`)
      .description(
        `${effect} a SPIFFE ID (or a prefix ending in /*)${effect === 'deny' ? '; takes effect on its next request' : ''}`,
      )
      .action(
        action(async (pattern: string, _opts: object, cmd: Command) => {
          const { client } = connect(globals(cmd));
          const r = await client.identity[effect]({ pattern });
          process.stdout.write(`${r.effect} ${r.pattern}\n`);
        }),
      );
  }
  clients
    .command('list')
    .description('show the policy and the certificates issued')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.identity.clients({});
        emit(format, r, () =>
          [
            r.policy.length
              ? table(
                  ['EFFECT', 'SPIFFE ID / PREFIX'],
                  r.policy.map((p) => [p.effect, p.pattern]),
                )
              : 'no policy entries (enrolled nodes are accepted)',
            '',
            table(
              ['CLIENT', 'SERIAL', 'ISSUED', 'EXPIRES', 'REVOKED'],
              r.svids.map((s) => [
                s.clientId,
                s.serialHex.slice(0, 16),
                new Date(s.issuedAt).toISOString(),
                new Date(s.notAfter).toISOString(),
                s.revokedAt ? new Date(s.revokedAt).toISOString() : null,
              ]),
            ),
          ].join('\n'),
        );
      }),
    );
}
