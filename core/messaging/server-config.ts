import { OutpostError } from '../../lib/errors/index.js';
import type { NatsUserEntry } from './credentials.js';
import { ACCOUNT } from '../../lib/bus/index.js';
import { connectHost } from './ports.js';

/**
 * Generates the nats-server configuration (JSON, which nats-server's configuration format accepts
 * as is, so quoting is never hand-made). Every user is in the one `OUTPOST` account with explicit
 * permissions; there is no `no_auth_user`, so nothing connects anonymously.
 */

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Require and verify client certificates (default false: clients authenticate with NKEYs). */
  verify?: boolean;
}

export interface LeafRemote {
  /** `nats-leaf://host:port` (or `tls://`), without credentials. */
  url: string;
  user?: string | undefined;
  password?: string | undefined;
  tls?: { caFile: string; certFile?: string; keyFile?: string } | undefined;
}

export interface NatsServerConfigInput {
  serverName: string;
  host: string;
  port: number;
  /** Loopback monitoring port (health checks, /leafz, /varz). */
  monitorPort: number;
  /** JetStream store directory (inside the data directory). */
  storeDir: string;
  /** This server's JetStream domain (`co` for the hub, `site-<id>` for an LO). */
  domain: string;
  users: NatsUserEntry[];
  tls?: TlsFiles | undefined;
  /**
   * Accept leaf-node connections from LOs (CO role). `advertise` is the `host:port` told to connected
   * leaves (default `host:port`, loopback for a wildcard host): without it nats-server advertises an
   * address of its own choosing, and a leaf that reconnects may use it, bypassing its configured path.
   */
  leafListen?:
    { host: string; port: number; advertise?: string | undefined; tls?: TlsFiles | undefined } | undefined;
  /** Join a hub as a leaf node (LO role). */
  leafRemote?: LeafRemote | undefined;
  maxPayload?: number;
}

function tlsBlock(t: TlsFiles): Record<string, unknown> {
  return {
    cert_file: t.certFile,
    key_file: t.keyFile,
    ca_file: t.caFile,
    verify: t.verify ?? false,
    timeout: 5,
  };
}

function checkPort(name: string, p: number): void {
  if (!Number.isInteger(p) || p <= 0 || p > 65535) {
    throw new OutpostError(
      'invalid-input',
      `nats-server ${name} must be a concrete port (1-65535), got ${p}`,
    );
  }
}

export function leafRemoteUrl(remote: LeafRemote): string {
  let u: URL;
  try {
    u = new URL(remote.url);
  } catch {
    throw new OutpostError(
      'invalid-config',
      `nats.hubLeafUrl "${remote.url}" is not a URL (nats-leaf://host:port)`,
    );
  }
  if (remote.user !== undefined) u.username = encodeURIComponent(remote.user);
  if (remote.password !== undefined) u.password = encodeURIComponent(remote.password);
  return u.toString().replace(/\/$/, '');
}

export function buildNatsConfig(input: NatsServerConfigInput): Record<string, unknown> {
  checkPort('port', input.port);
  checkPort('monitor port', input.monitorPort);
  if (input.users.length === 0) {
    throw new OutpostError(
      'invalid-input',
      'nats-server configuration needs at least one user (no anonymous access)',
    );
  }
  const users = input.users.map((u) => ({
    ...(u.kind === 'nkey' ? { nkey: u.nkey } : { user: u.user, password: u.password }),
    permissions: u.permissions,
    allowed_connection_types: u.allowedConnectionTypes,
  }));
  const config: Record<string, unknown> = {
    server_name: input.serverName,
    host: input.host,
    port: input.port,
    http: `127.0.0.1:${input.monitorPort}`,
    max_payload: input.maxPayload ?? 1024 * 1024,
    jetstream: { store_dir: input.storeDir, domain: input.domain },
    accounts: { [ACCOUNT]: { jetstream: 'enabled', users } },
  };
  if (input.tls) config.tls = tlsBlock(input.tls);
  const leafnodes: Record<string, unknown> = {};
  if (input.leafListen) {
    checkPort('leaf port', input.leafListen.port);
    leafnodes.host = input.leafListen.host;
    leafnodes.port = input.leafListen.port;
    leafnodes.advertise =
      input.leafListen.advertise ?? `${connectHost(input.leafListen.host)}:${input.leafListen.port}`;
    if (input.leafListen.tls) leafnodes.tls = tlsBlock(input.leafListen.tls);
  }
  if (input.leafRemote) {
    const r = input.leafRemote;
    leafnodes.remotes = [
      {
        url: leafRemoteUrl(r),
        account: ACCOUNT,
        ...(r.tls
          ? {
              tls: {
                ca_file: r.tls.caFile,
                ...(r.tls.certFile ? { cert_file: r.tls.certFile } : {}),
                ...(r.tls.keyFile ? { key_file: r.tls.keyFile } : {}),
              },
            }
          : {}),
      },
    ];
    leafnodes.reconnect = 2;
  }
  if (Object.keys(leafnodes).length > 0) config.leafnodes = leafnodes;
  return config;
}

/** The configuration file's text. */
export function renderNatsConfig(input: NatsServerConfigInput): string {
  return JSON.stringify(buildNatsConfig(input), null, 2) + '\n';
}
