import { connect, type NatsConnection } from '@nats-io/transport-node';
import { fastNkeyAuthenticator, HUB_DOMAIN, siteDomain } from '../../lib/bus/index.js';
import type { CredentialStore } from './credentials.js';
import type { LeafRemote, NatsServerConfigInput, TlsFiles } from './server-config.js';

/** Which parts of the messaging layer a server runs: the hub (CO), a site (LO), or both. */
export type MessagingRole = 'co' | 'lo' | 'all';

export interface ServerInputOptions {
  role: MessagingRole;
  /** The site this server serves (roles lo and all). */
  siteId: string;
  host: string;
  /** 0 picks a free port when the supervisor starts. */
  port: number;
  monitorPort?: number;
  /** Leaf-node listener port for roles co and all (0 picks a free port). */
  leafPort: number;
  /** The `host:port` advertised to leaves (`nats.leafAdvertise`); default the listener's. */
  leafAdvertise?: string | undefined;
  storeDir: string;
  credentials: CredentialStore;
  tls?: TlsFiles | undefined;
  /** Role lo: the hub to join as a leaf node. */
  hubLeaf?: LeafRemote | undefined;
}

export function hasHub(role: MessagingRole): boolean {
  return role === 'co' || role === 'all';
}

export function hasSite(role: MessagingRole): boolean {
  return role === 'lo' || role === 'all';
}

export function domainOf(role: MessagingRole, siteId: string): string {
  return hasHub(role) ? HUB_DOMAIN : siteDomain(siteId);
}

/** The nats-server configuration for a role, generated from the credential registry. */
export function serverInputFor(o: ServerInputOptions): NatsServerConfigInput {
  return {
    serverName: hasHub(o.role) ? 'outpost-co' : `outpost-lo-${o.siteId}`,
    host: o.host,
    port: o.port,
    monitorPort: o.monitorPort ?? 0,
    storeDir: o.storeDir,
    domain: domainOf(o.role, o.siteId),
    users: o.credentials.users({ includeLeafs: hasHub(o.role) }),
    tls: o.tls,
    leafListen: hasHub(o.role)
      ? { host: o.host, port: o.leafPort, advertise: o.leafAdvertise, tls: o.tls }
      : undefined,
    leafRemote: o.role === 'lo' ? o.hubLeaf : undefined,
  };
}

export interface ServiceConnectOptions {
  url: string;
  seed: string;
  /** The seed's public key, when known (saves deriving it). */
  publicKey?: string;
  name: string;
  tls?: { caFile: string } | undefined;
  /** Keep trying when the first attempt fails (default true); reconnects are forever either way. */
  waitOnFirstConnect?: boolean;
}

/** The control plane's own connection: reconnects forever. */
export function connectService(o: ServiceConnectOptions): Promise<NatsConnection> {
  return connect({
    servers: o.url,
    name: o.name,
    authenticator: fastNkeyAuthenticator(o.seed, o.publicKey),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    waitOnFirstConnect: o.waitOnFirstConnect ?? true,
    pingInterval: 10_000,
    ...(o.tls ? { tls: { caFile: o.tls.caFile } } : {}),
  });
}
