import type { Command } from 'commander';
import { register as initCa } from './init-ca.js';
import { register as exportCa } from './export-ca.js';
import { register as trustCa } from './trust-ca.js';
import { register as listTrustedCas } from './list-trusted-cas.js';
import { register as untrustCa } from './untrust-ca.js';
import { register as issueClient } from './issue-client.js';
import { register as allowClient } from './allow-client.js';
import { register as denyClient } from './deny-client.js';
import { register as listClients } from './list-clients.js';

/**
 * `edgectl site ...`: the Local Orchestrator's identity (site CA, the other CAs it trusts, client SVIDs,
 * accepted-client policy). This file only makes the groups and registers the commands, one per file;
 * `shared.ts` holds what they share.
 */
export function head(program: Command): Command {
  return program
    .command('site')
    .description('the site (LO) identity: CA, client certificates, accepted-client policy')
    .option('--server <url>', 'console API URL (default: from <home>/run/server.json)')
    .option('--token <token>', 'API token (default: from server.json, or EDGE_TOKEN)');
}

export function register(program: Command): void {
  const site = head(program);

  const ca = site.command('ca').description('the site CA');
  initCa(ca);
  exportCa(ca);
  // Other CAs whose client certificates the site accepts once registered for a node (ADR 0463).
  const trust = ca.command('trust').description("other CAs in the site's trust (third-party devices)");
  trustCa(trust);
  listTrustedCas(trust);
  untrustCa(trust);

  issueClient(site.command('client').description('client certificates issued by the site'));

  const clients = site.command('clients').description('the accepted-client policy');
  allowClient(clients);
  denyClient(clients);
  listClients(clients);
}
