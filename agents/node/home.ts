import os from 'node:os';
import path from 'node:path';

/**
 * Every file the edge agent keeps lives under one folder, the agent home (ADR 0260):
 *
 *   agent.yaml          configuration (optional; defaults apply)
 *   instance-id         this agent instance's id (labels on what it creates)
 *   identity/           key.pem (0600), svid.pem, anchors.pem, enrollment.json, nats.json (0600)
 *   state.json          adopted manifestVersion, ETag, deployments (atomic writes)
 *   desired/            verified ApplicationDeployment YAML, by digest
 *   outbox/             status reports not yet delivered, one file each, in order
 *   cache/              OCI blob cache
 *   workloads/<kind>/   runtime adapter state
 */
export interface AgentPaths {
  readonly home: string;
  readonly configFile: string;
  readonly instanceIdFile: string;
  readonly identityDir: string;
  readonly keyFile: string;
  readonly svidFile: string;
  readonly anchorsFile: string;
  readonly enrollmentFile: string;
  readonly natsFile: string;
  readonly stateFile: string;
  readonly desiredDir: string;
  readonly outboxDir: string;
  readonly cacheDir: string;
  readonly workloadsDir: string;
  /** Held while an agent runs on this home (one agent per home). */
  readonly lockFile: string;
}

/** Where a system-wide agent (the systemd unit) keeps its files. */
export const SYSTEM_AGENT_HOME = '/var/lib/outpost-agent';

/**
 * The agent home: an explicit `--home`, else `EDGE_AGENT_HOME`, else `/var/lib/outpost-agent` for root,
 * else `$XDG_DATA_HOME/outpost-agent` (`~/.local/share/outpost-agent`).
 */
export function resolveAgentHome(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
  uid: number = typeof process.getuid === 'function' ? process.getuid() : -1,
): string {
  if (explicit) return path.resolve(explicit);
  if (env.EDGE_AGENT_HOME) return path.resolve(env.EDGE_AGENT_HOME);
  if (uid === 0) return SYSTEM_AGENT_HOME;
  return path.resolve(env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'outpost-agent');
}

export function agentPaths(home: string): AgentPaths {
  const h = path.resolve(home);
  const id = path.join(h, 'identity');
  return {
    home: h,
    configFile: path.join(h, 'agent.yaml'),
    instanceIdFile: path.join(h, 'instance-id'),
    identityDir: id,
    keyFile: path.join(id, 'key.pem'),
    svidFile: path.join(id, 'svid.pem'),
    anchorsFile: path.join(id, 'anchors.pem'),
    enrollmentFile: path.join(id, 'enrollment.json'),
    natsFile: path.join(id, 'nats.json'),
    stateFile: path.join(h, 'state.json'),
    desiredDir: path.join(h, 'desired'),
    outboxDir: path.join(h, 'outbox'),
    cacheDir: path.join(h, 'cache'),
    workloadsDir: path.join(h, 'workloads'),
    lockFile: path.join(h, 'agent.lock'),
  };
}
