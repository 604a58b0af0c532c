import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createPaths, systemClock } from '../../lib/base/index.js';
import { clientSpiffeId, wfmSpiffeId } from '../../lib/identity/index.js';
import { createSiteCa, createSvidIssuer, saveSiteCa, type SiteCa } from '../../core/ca/index.js';
import { openStore } from '../../core/store/db.js';
import { openCredentialStore, type NodeCredentials } from '../../core/messaging/credentials.js';
import { capabilitiesFor } from '../../test/fixtures/margo.js';
import { parseDeviceCapabilities } from '../../lib/margo-validation/index.js';

/**
 * A server home prepared for benchmarks before its server starts: the site CA (as `edgectl site ca init`
 * would write it), one site, and N enrolled nodes, each with its own P-256 key and an X.509-SVID issued by
 * that CA (rows in `nodes` and `svids` as enrollment writes them, capabilities of a WASM-capable host) and,
 * when asked, its NATS NKEY user. Enrolling thousands of nodes over the MMI would take minutes and
 * measure enrollment, not what the benchmark is about.
 */

export const TRUST_DOMAIN = 'outpost.local';
export const WFM_ID = 'outpost';
export const SITE = 'plant';

export interface SeededNode {
  clientId: string;
  spiffeId: string;
  certPem: string;
  keyPem: string;
  serialHex: string;
  nats?: NodeCredentials;
}

export interface SeededHome {
  home: string;
  ca: SiteCa;
  nodes: SeededNode[];
}

export interface SeedOptions {
  home: string;
  nodes: number;
  /** Issue NATS users for the nodes (default false). */
  nats?: boolean;
  /** Lines appended to config.yaml (the defaults switch NATS, the registry and discovery off). */
  config?: string;
  svidTtlSeconds?: number;
}

/** One-line progress on stderr for long seeding (10,000 SVIDs take a while). */
function progress(done: number, total: number): void {
  if (total >= 1000 && (done % 1000 === 0 || done === total))
    process.stderr.write(`seeding: ${done}/${total} SVIDs\n`);
}

/** The home's configuration file and its site CA (as `edgectl site ca init` would write it). */
export async function prepareLoHome(o: Pick<SeedOptions, 'home' | 'nats' | 'config'>): Promise<SiteCa> {
  const paths = createPaths(o.home);
  fs.mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  fs.writeFileSync(
    paths.configFile,
    o.config ??
      [
        'nats:',
        `  enabled: ${o.nats ? 'true' : 'false'}`,
        'registry:',
        '  enabled: false',
        'discovery:',
        '  enabled: false',
        '',
      ].join('\n'),
  );
  const ca = await createSiteCa({
    trustDomain: TRUST_DOMAIN,
    name: 'Outpost bench site CA',
    now: Date.now() - 86_400_000,
  });
  saveSiteCa(path.join(paths.pkiDir, 'site-ca'), ca);
  return ca;
}

/** An enrolled node as enrollment records it: its SVID's serial, SPIFFE ID and expiry. */
export interface EnrolledNode {
  clientId: string;
  spiffeId: string;
  serialHex: string;
  notAfter: number;
}

/**
 * Records enrolled nodes in the home's database as enrollment writes them (the site, `nodes` rows with
 * the capabilities of a WASM-capable host, `svids` rows) and, when asked, issues their NATS users.
 */
export function recordEnrolledNodes(
  home: string,
  enrolled: EnrolledNode[],
  o: { nats?: boolean } = {},
): NodeCredentials[] {
  const paths = createPaths(home);
  const now = Date.now();
  const store = openStore(paths.dbFile);
  try {
    // Stored as the LO stores what a node reports: parsed (the WASM runtime in `extensions`).
    const caps = JSON.stringify(parseDeviceCapabilities(capabilitiesFor('x')));
    const site = store.sqlite.prepare(
      `INSERT OR IGNORE INTO sites (tenant_id, id, name, description, labels, served_by, created_at) VALUES ('default', ?, ?, NULL, '{}', 'embedded', ?)`,
    );
    const node = store.sqlite.prepare(
      `INSERT INTO nodes (uid, tenant_id, name, site_id, labels, cordoned, state, capabilities, capabilities_at, last_seen_at, enrolled_at, created_at)
       VALUES (?, 'default', ?, ?, '{}', 0, 'enrolled', ?, ?, ?, ?, ?)`,
    );
    const svid = store.sqlite.prepare(
      'INSERT INTO svids (serial_hex, client_id, spiffe_id, issued_at, not_after, revoked_at) VALUES (?, ?, ?, ?, ?, NULL)',
    );
    store.tx(() => {
      site.run(SITE, SITE, now);
      for (const n of enrolled) {
        node.run(n.clientId, n.clientId.slice(8), SITE, caps, now, now, now, now);
        svid.run(n.serialHex, n.clientId, n.spiffeId, now, n.notAfter);
      }
    });
  } finally {
    store.close();
  }
  if (!o.nats) return [];
  const creds = openCredentialStore({
    file: path.join(paths.natsDir, 'credentials.json'),
    clock: systemClock,
  });
  return creds.issueNodes(enrolled.map((n) => ({ nodeUid: n.clientId, siteId: SITE })));
}

/** Client ids of a seeded fleet: default.n00000, default.n00001, ... */
export const nodeClientId = (i: number) => `default.n${String(i).padStart(5, '0')}`;

export async function seedLoHome(o: SeedOptions): Promise<SeededHome> {
  const ca = await prepareLoHome(o);
  const issuer = await createSvidIssuer(ca);
  const now = Date.now();
  const ttl = o.svidTtlSeconds ?? 30 * 86_400;
  const nodes: SeededNode[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const clientId = nodeClientId(i);
    const spiffeId = clientSpiffeId(TRUST_DOMAIN, WFM_ID, clientId);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const svid = await issuer.issue({ publicKey, spiffeId, now, ttlSeconds: ttl });
    nodes.push({
      clientId,
      spiffeId,
      certPem: svid.certPem,
      keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      serialHex: svid.serialHex,
    });
    progress(i + 1, o.nodes);
  }
  const creds = recordEnrolledNodes(
    o.home,
    nodes.map((n) => ({ ...n, notAfter: now + ttl * 1000 })),
    { nats: o.nats },
  );
  creds.forEach((c, i) => (nodes[i]!.nats = c));
  return { home: createPaths(o.home).home, ca, nodes };
}

/** The WFM SPIFFE ID clients of a seeded home expect. */
export const WFM_SPIFFE_ID = wfmSpiffeId(TRUST_DOMAIN, WFM_ID);
