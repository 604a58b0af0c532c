import fs from 'node:fs';
import type { DeploymentState } from '../../lib/model/index.js';
import type { AgentPaths } from './home.js';
import { readEnrollment, svidValidity } from './identity.js';
import { effectiveSiteRegistry } from './site-registry.js';
import { lockOwner } from './lock.js';
import type { RestartRecord } from './restart-policy.js';
import { readStateFile, type ComponentReport } from './state.js';

/**
 * What `edgectl agent status` shows, read from the agent's files only (it works while the agent or the LO
 * is down): identity, LO, whether the agent runs, the last successful sync and its age, the adopted
 * manifestVersion, queued reports, and every deployment with its last reported state and its restarts.
 */
export interface AgentStatusView {
  home: string;
  enrolled: boolean;
  node?: string;
  clientId?: string;
  deviceId?: string;
  spiffeId?: string;
  site?: string;
  lo?: string;
  /** The site registry artifacts are pulled through (ADR 0422); absent: none. */
  siteRegistry?: string;
  /** Expiry of the SVID on disk (after a renewal, the renewed one). */
  svidNotAfter?: number;
  /** When the agent last renewed its SVID (absent: never, it is the enrollment's). */
  svidRenewedAt?: number;
  agent: { running: boolean; pid?: number };
  lastSync: number | null;
  lastSyncAgeSeconds: number | null;
  manifestVersion: number;
  manifestAdoptedAt: number | null;
  lastError: { at: number; message: string } | null;
  queuedReports: number;
  deployments: {
    deploymentId: string;
    name: string;
    state: DeploymentState | 'unknown';
    desired: boolean;
    adoptedManifestVersion: number;
    since: number | null;
    components: ComponentReport[];
    error?: { code?: string; source?: string; message?: string };
    /** Its artifacts alone need more than the blob cache limit (they are pinned while it installs). */
    cacheOverLimit?: { neededBytes: number; maxBytes: number };
    /** The agent's restarts of its components' workloads (ADR 0207), by component. */
    restarts?: Record<string, RestartRecord>;
  }[];
}

export function readAgentStatus(
  paths: AgentPaths,
  now: number,
  deviceId?: string,
  /** `registries.siteRegistry` of agent.yaml (overrides the enrollment's; `false`: none). */
  siteRegistry?: string | false,
): AgentStatusView {
  const e = readEnrollment(paths);
  let state;
  try {
    state = readStateFile(paths.stateFile);
  } catch {
    state = undefined;
  }
  const pid = lockOwner(paths.lockFile);
  let queued: number;
  try {
    queued = fs.readdirSync(paths.outboxDir).filter((n) => /^\d+\.json$/.test(n)).length;
  } catch {
    queued = 0;
  }
  const lastSync = state?.lastSync ?? null;
  const registry = e ? effectiveSiteRegistry(siteRegistry, e.registryUrl, e.mmiUrl) : undefined;
  return {
    home: paths.home,
    enrolled: e !== undefined,
    ...(e
      ? {
          node: e.nodeName,
          clientId: e.clientId,
          deviceId: deviceId ?? e.nodeName,
          spiffeId: e.spiffeId,
          site: e.siteId,
          lo: e.mmiUrl,
          ...(registry ? { siteRegistry: registry } : {}),
          // The certificate itself is the truth: a renewal replaces it (and the record) as one.
          svidNotAfter: svidValidity(paths)?.notAfter ?? e.notAfter,
          ...(e.renewedAt !== undefined ? { svidRenewedAt: e.renewedAt } : {}),
        }
      : {}),
    agent: pid ? { running: true, pid } : { running: false },
    lastSync,
    lastSyncAgeSeconds: lastSync === null ? null : Math.max(0, Math.round((now - lastSync) / 1000)),
    manifestVersion: state?.manifestVersion ?? 0,
    manifestAdoptedAt: state?.manifestAdoptedAt ?? null,
    lastError: state?.lastError ?? null,
    queuedReports: queued,
    deployments: Object.values(state?.deployments ?? {})
      .sort((a, b) => (a.name || a.deploymentId).localeCompare(b.name || b.deploymentId))
      .map((r) => ({
        deploymentId: r.deploymentId,
        name: r.name,
        state: r.reported?.state ?? 'unknown',
        desired: r.desired,
        adoptedManifestVersion: r.adoptedManifestVersion,
        since: r.reported?.at ?? null,
        components: r.reported?.components ?? [],
        ...(r.reported?.error ? { error: r.reported.error } : {}),
        ...(r.cacheOverLimit ? { cacheOverLimit: r.cacheOverLimit } : {}),
        ...(r.restarts ? { restarts: r.restarts } : {}),
      })),
  };
}
