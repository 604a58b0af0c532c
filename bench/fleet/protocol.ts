/** The IPC messages between the fleet driver (fleet.ts) and its simulator processes (simulator.ts). */

export interface IssuedIdentity {
  clientId: string;
  spiffeId: string;
  serialHex: string;
  notAfter: number;
}

/** A node's NATS user and subjects (from the LO's credential store, as enrollment hands them over). */
export interface NodeBus {
  clientId: string;
  user: string;
  seed: string;
  notify: string;
  presence: string;
}

export interface StartOptions {
  mmiHost: string;
  mmiPort: number;
  /** The MMI's base path ('' when it serves at the root). */
  mmiBasePath: string;
  anchorsPem: string[];
  pollSeconds: number;
  /** The nodes' first polls (each a full handshake) are spread over this long (a fleet does not boot at once). */
  rampSeconds: number;
  heartbeatSeconds: number;
  natsHost: string;
  natsPort: number;
  natsTls: boolean;
  /** NATS users of this process's nodes; without them the nodes poll only. */
  buses?: NodeBus[];
}

export type FleetCommand =
  | {
      cmd: 'issue';
      ca: { certPem: string; keyPem: string };
      trustDomain: string;
      wfmId: string;
      clientIds: string[];
      now: number;
      ttlSeconds: number;
    }
  | { cmd: 'start'; options: StartOptions }
  | { cmd: 'stats' }
  | { cmd: 'stop' };

export interface SimStats {
  nodes: number;
  polls: number;
  notModified: number;
  manifests: number;
  fetches: number;
  statusPosts: number;
  errors: number;
  /** New TLS connections to the MMI, and how many of them resumed a session. */
  connections: number;
  resumed: number;
  pollNow: number;
  heartbeats: number;
  busErrors: number;
  busConnected: number;
  /** NATS connections made again after the server closed one (the agent reconnects too). */
  busReconnects: number;
  /** Status reports sent again after a failed attempt (the agent keeps them in its outbox). */
  reportRetries: number;
  /** Requests sent again at once because their kept connection was reset before any answer. */
  staleRetries: number;
  /** Nodes whose NATS connection is down now, and nodes with reports not yet accepted. */
  busDown: number;
  outboxPending: number;
  /** The nodes with the fewest installs (what each saw), to tell why a phase does not finish. */
  laggards: {
    clientId: string;
    installs: number;
    lastPollStatus: number | null;
    lastPollAt: number | null;
    pollNows: number;
    busUp: boolean;
    outbox: number;
    etag: string | null;
    lastError: string | null;
  }[];
  /** Nodes that have a manifest (polled at least once). */
  polledOnce: number;
  /** installs[k]: nodes that installed and reported their (k+1)-th manifest with changes. */
  installs: number[];
  /** lastInstallAt[k]: when the last of them did (epoch ms). */
  lastInstallAt: number[];
  /** medianInstallAt[k], p90InstallAt[k]: when half and 90 % of this process's nodes had (epoch ms). */
  medianInstallAt: number[];
  p90InstallAt: number[];
  /** Poll latencies since the previous stats (ms). */
  pollLatencyMs: { p50: number; p99: number; max: number; n: number };
  errorSamples: string[];
  cpuMs: number;
  rssMiB: number;
}

export type SimReply =
  | { cmd: 'issued'; identities: IssuedIdentity[] }
  | { cmd: 'started' }
  | { cmd: 'stats'; stats: SimStats }
  | { cmd: 'stopped' }
  | { cmd: 'error'; message: string };
