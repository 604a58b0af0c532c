import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createUser, fromPublic, fromSeed } from '@nats-io/nkeys';
import { OutpostError } from '../errors.js';
import type { Clock } from '../clock.js';
import {
  leafPermissions,
  nodePermissions,
  servicePermissions,
  type NatsPermissions,
} from './permissions.js';
import { assertNodeUid, assertSiteId, nodeInboxPrefix, nodeSubject } from './subjects.js';

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
  | { kind: 'nkey'; nkey: string }
  | { kind: 'password'; user: string; password: string }
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
    servicePublicKey: () => fromSeed(new TextEncoder().encode(data.service.seed)).getPublicKey(),
    issueNode(nodeUid, siteId, opts = {}) {
      assertNodeUid(nodeUid);
      assertSiteId(siteId);
      let publicKey: string;
      let seed: string | undefined;
      if (opts.publicKey !== undefined) {
        publicKey = checkUserKey(opts.publicKey);
      } else {
        const kp = createUser();
        publicKey = kp.getPublicKey();
        seed = new TextDecoder().decode(kp.getSeed());
      }
      for (const other of Object.values(data.nodes)) {
        if (other.publicKey === publicKey && other.nodeUid !== nodeUid) {
          throw new OutpostError('conflict', `NKEY ${publicKey} already belongs to node "${other.nodeUid}"`);
        }
      }
      data = {
        ...data,
        nodes: { ...data.nodes, [nodeUid]: { nodeUid, siteId, publicKey, addedAt: clock.now() } },
      };
      save();
      return nodeCredentialsFor(nodeUid, siteId, publicKey, seed);
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
  try {
    const kp = fromPublic(publicKey);
    if (!publicKey.startsWith('U')) throw new Error('not a user key');
    return kp.getPublicKey();
  } catch {
    throw new OutpostError('invalid-input', `"${publicKey}" is not a public NKEY of a user (U...)`);
  }
}

function load(file: string): FileShape {
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return {
      version: 1,
      service: { seed: new TextDecoder().decode(createUser().getSeed()) },
      nodes: {},
      leafs: {},
    };
  }
  try {
    const parsed = JSON.parse(raw) as FileShape;
    if (parsed.version !== 1 || typeof parsed.service?.seed !== 'string') throw new Error('unknown layout');
    fromSeed(new TextEncoder().encode(parsed.service.seed));
    return { version: 1, service: parsed.service, nodes: parsed.nodes ?? {}, leafs: parsed.leafs ?? {} };
  } catch (err) {
    throw new OutpostError('invalid-config', `${file}: not a valid NATS credential registry: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
