import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Contract, ClientOf } from '../../../lib/contract/index.js';
import { writeFileSafe } from './shared.js';

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

/** `edgectl site client issue --client-id <id> --out <dir>`: an SVID and key for a client without a CSR. */
export function register(clientGroup: Command): void {
  clientGroup
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
}
