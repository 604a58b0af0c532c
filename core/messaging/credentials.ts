import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../../lib/errors/index.js';
import type { Clock } from '../../lib/base/index.js';
import { leafPermissions, nodePermissions, servicePermissions, type NatsPermissions } from './permissions.js';
import {
  assertNodeUid,
  assertSiteId,
  nodeInboxPrefix,
  nodeSubject,
  createUserNkey,
  decodeUserSeed,
  isUserPublicKey,
  publicKeyOfSeed,
} from '../../lib/bus/index.js';

/**
 * The credential registry (ADR 0161): who may connect to the embedded nats-server. Nodes are NKEY
 * users (only the public key is kept here; the seed goes to the node once, in its enrollment
 * response), LO leaf connections are user/password users scoped to their site, and the control plane
 * itself is one NKEY "service" user. Kept in `<home>/nats/credentials.json` (mode 0600), written
 * atomically; the server configuration is generated from it.
 */

export interface NodeUserRecord {
  nodeUid: string;
  siteId: string;
  publicKey: string;
  addedAt: number;
}

export interface LeafUserRecord {
  siteId: string;
  /** The tenant that owns the site (a site id names one namespace on the bus, whatever the tenant). */
  tenantId?: string | undefined;
  user: string;
  password: string;
  addedAt: number;
}

/** One entry of the generated `users` list. */
export type NatsUserEntry = (
  { kind: 'nkey'; nkey: string } | { kind: 'password'; user: string; password: string }
) & {
  permissions: NatsPermissions;
  /** nats-server `allowed_connection_types` (STANDARD, LEAFNODE, WEBSOCKET, ...). */
  allowedConnectionTypes: string[];
};

/** What a node receives on enrollment (the enrollment endpoint hands it to the agent). */
export interface NodeCredentials {
  nodeUid: string;
  siteId: string;
  /** The public NKEY (`U...`), which is also the NATS user. */
  user: string;
  /** The NKEY seed (`SU...`); absent when the node supplied its own public key. */
  seed?: string;
  permissions: NatsPermissions;
  inboxPrefix: string;
  subjects: { notify: string; status: string; events: string; presence: string };
}

export interface LeafCredentials {
  siteId: string;
  user: string;
  password: string;
  permissions: NatsPermissions;
}

interface FileShape {
  version: 1;
  service: { seed: string };
  nodes: Record<string, NodeUserRecord>;
  leafs: Record<string, LeafUserRecord>;
}

export interface CredentialStore {
  readonly file: string;
  /** The control plane's own NKEY seed (for its client connections). */
  serviceSeed(): string;
  servicePublicKey(): string;
  /** Issues (or re-issues, replacing the old key) a node's NKEY user. */
  issueNode(nodeUid: string, siteId: string, options?: { publicKey?: string }): NodeCredentials;
  /** Issues many node users at once (one write); all are checked before anything changes. */
  issueNodes(entries: { nodeUid: string; siteId: string; publicKey?: string }[]): NodeCredentials[];
  /** Removes a node's user; returns whether it existed. */
  removeNode(nodeUid: string): boolean;
  node(nodeUid: string): NodeUserRecord | undefined;
  nodes(siteId?: string): NodeUserRecord[];
  /** Issues (or returns the existing) leaf credentials of a site; another tenant's site of the same id is a conflict. */
  issueLeaf(siteId: string, options?: { rotate?: boolean; tenantId?: string }): LeafCredentials;
  revokeLeaf(siteId: string): boolean;
  leafs(): LeafUserRecord[];
  /** Every user of the generated configuration. */
  users(options: { includeLeafs: boolean }): NatsUserEntry[];
}

export function leafUserName(siteId: string): string {
  return `leaf-${assertSiteId(siteId)}`;
}

export function nodeCredentialsFor(
  nodeUid: string,
  siteId: string,
  publicKey: string,
  seed?: string,
): NodeCredentials {
  return {
    nodeUid,
    siteId,
    user: publicKey,
    ...(seed ? { seed } : {}),
    permissions: nodePermissions(siteId, nodeUid),
    inboxPrefix: nodeInboxPrefix(siteId, nodeUid),
    subjects: {
      notify: nodeSubject(siteId, nodeUid, 'notify'),
      status: nodeSubject(siteId, nodeUid, 'status'),
      events: nodeSubject(siteId, nodeUid, 'events'),
      presence: nodeSubject(siteId, nodeUid, 'presence'),
    },
  };
}

export function openCredentialStore(options: { file: string; clock: Clock }): CredentialStore {
  const { file, clock } = options;
  let data = load(file);
  let servicePub: string | undefined;

  const save = () => {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(data, null, 2) + '\n');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  };
  if (!fs.existsSync(file)) save();

  const store: CredentialStore = {
    file,
    serviceSeed: () => data.service.seed,
    servicePublicKey: () => (servicePub ??= publicKeyOfSeed(data.service.seed)),
    issueNode(nodeUid, siteId, opts = {}) {
      return store.issueNodes([
        { nodeUid, siteId, ...(opts.publicKey !== undefined ? { publicKey: opts.publicKey } : {}) },
      ])[0]!;
    },
    issueNodes(entries) {
      const owners = new Map<string, string>();
      for (const n of Object.values(data.nodes)) owners.set(n.publicKey, n.nodeUid);
      const seen = new Set<string>();
      const prepared = entries.map((e) => {
        assertNodeUid(e.nodeUid);
        assertSiteId(e.siteId);
        if (seen.has(e.nodeUid))
          throw new OutpostError('invalid-input', `node "${e.nodeUid}" is listed twice`);
        seen.add(e.nodeUid);
        let publicKey: string;
        let seed: string | undefined;
        if (e.publicKey !== undefined) {
          publicKey = checkUserKey(e.publicKey);
        } else {
          ({ publicKey, seed } = createUserNkey());
        }
        const owner = owners.get(publicKey);
        if (owner !== undefined && owner !== e.nodeUid) {
          throw new OutpostError('conflict', `NKEY ${publicKey} already belongs to node "${owner}"`);
        }
        owners.set(publicKey, e.nodeUid);
        return { ...e, publicKey, seed };
      });
      const nodes = { ...data.nodes };
      const now = clock.now();
      for (const p of prepared)
        nodes[p.nodeUid] = { nodeUid: p.nodeUid, siteId: p.siteId, publicKey: p.publicKey, addedAt: now };
      data = { ...data, nodes };
      save();
      return prepared.map((p) => nodeCredentialsFor(p.nodeUid, p.siteId, p.publicKey, p.seed));
    },
    removeNode(nodeUid) {
      if (!data.nodes[nodeUid]) return false;
      const nodes = { ...data.nodes };
      delete nodes[nodeUid];
      data = { ...data, nodes };
      save();
      return true;
    },
    node: (nodeUid) => data.nodes[nodeUid],
    nodes: (siteId) =>
      Object.values(data.nodes)
        .filter((n) => siteId === undefined || n.siteId === siteId)
        .sort((a, b) => a.nodeUid.localeCompare(b.nodeUid)),
    issueLeaf(siteId, opts = {}) {
      assertSiteId(siteId);
      let rec = data.leafs[siteId];
      if (rec?.tenantId && opts.tenantId && rec.tenantId !== opts.tenantId) {
        throw new OutpostError(
          'conflict',
          `site "${siteId}" already has leaf credentials for tenant "${rec.tenantId}": site ids must be unique on the bus`,
        );
      }
      if (!rec || opts.rotate) {
        rec = {
          siteId,
          ...(opts.tenantId ? { tenantId: opts.tenantId } : rec?.tenantId ? { tenantId: rec.tenantId } : {}),
          user: leafUserName(siteId),
          password: crypto.randomBytes(24).toString('base64url'),
          addedAt: clock.now(),
        };
        data = { ...data, leafs: { ...data.leafs, [siteId]: rec } };
        save();
      }
      return { siteId, user: rec.user, password: rec.password, permissions: leafPermissions(siteId) };
    },
    revokeLeaf(siteId) {
      if (!data.leafs[siteId]) return false;
      const leafs = { ...data.leafs };
      delete leafs[siteId];
      data = { ...data, leafs };
      save();
      return true;
    },
    leafs: () => Object.values(data.leafs).sort((a, b) => a.siteId.localeCompare(b.siteId)),
    users({ includeLeafs }) {
      const out: NatsUserEntry[] = [
        {
          kind: 'nkey',
          nkey: store.servicePublicKey(),
          permissions: servicePermissions(),
          allowedConnectionTypes: ['STANDARD'],
        },
      ];
      for (const n of store.nodes()) {
        out.push({
          kind: 'nkey',
          nkey: n.publicKey,
          permissions: nodePermissions(n.siteId, n.nodeUid),
          allowedConnectionTypes: ['STANDARD', 'WEBSOCKET'],
        });
      }
      if (includeLeafs) {
        for (const l of store.leafs()) {
          out.push({
            kind: 'password',
            user: l.user,
            password: l.password,
            permissions: leafPermissions(l.siteId),
            allowedConnectionTypes: ['LEAFNODE'],
          });
        }
      }
      return out;
    },
  };
  return store;
}

function checkUserKey(publicKey: string): string {
  if (!isUserPublicKey(publicKey)) {
    throw new OutpostError('invalid-input', `"${publicKey}" is not a public NKEY of a user (U...)`);
  }
  return publicKey;
}

function load(file: string): FileShape {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return {
      version: 1,
      service: { seed: createUserNkey().seed },
      nodes: {},
      leafs: {},
    };
  }
  try {
    const parsed = JSON.parse(raw) as FileShape;
    if (parsed.version !== 1 || typeof parsed.service?.seed !== 'string') throw new Error('unknown layout');
    decodeUserSeed(parsed.service.seed);
    return { version: 1, service: parsed.service, nodes: parsed.nodes ?? {}, leafs: parsed.leafs ?? {} };
  } catch (err) {
    throw new OutpostError(
      'invalid-config',
      `${file}: not a valid NATS credential registry: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
