import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Fleet } from '../fleet/module.js';
import type { DeploymentSummary, DeploymentView } from '../../lib/contract/index.js';
import { errors } from '../../lib/errors/index.js';
import { parseApplicationDeployment } from '../../lib/margo/index.js';
import type { ApplicationDeployment } from '../../lib/model/index.js';
import { buildView, summaryOf, type DeploymentRow, type TargetRow } from '../deploy/views.js';
import { splitClientId } from './follower.js';

/**
 * The site's own view of its deployments (issue 19, defect 6; ADR 0170): a remote LO (role lo) keeps no
 * deployment records (the CO does), but it knows exactly what it serves each node (the YAML in every
 * node's current state manifest) and what each node reported. From these it answers `deployments.list`
 * and `deployments.get` without the CO: per node the state, when it happened and when it arrived, whether
 * it is about the YAML served now, and presence. It cannot know the CO's rollout plan (`rollout: null`).
 */
export interface LocalDeployments {
  list(tenantId: string, includeRemoved: boolean): { deployments: DeploymentSummary[]; now: number };
  get(tenantId: string, id: string): DeploymentView;
}

interface ServedRow {
  clientId: string;
  deploymentId: string;
  digest: string;
  yaml: Buffer;
  untilVersion: number | null;
  commit: string | null;
  updatedAt: number;
}

interface ReportRow {
  state: string;
  adoptedManifestVersion: number | null;
  digest: string | null;
  body: string;
  receivedAt: number;
  eventAt: number | null;
}

export function createLocalDeployments(deps: { store: Store; clock: Clock; fleet: Fleet }): LocalDeployments {
  const { store, clock, fleet } = deps;
  // The newest YAML each node was served for a deployment: current ones (until_version null) first.
  const servedQ = store.sqlite.prepare(
    `SELECT cd.client_id AS clientId, cd.deployment_id AS deploymentId, cd.digest, cd.yaml, cd.until_version AS untilVersion,
            c."commit" AS "commit", c.updated_at AS updatedAt
       FROM lo_client_deployments cd JOIN lo_clients c ON c.client_id = cd.client_id
      WHERE (? IS NULL OR cd.deployment_id = ?)
      ORDER BY cd.deployment_id, cd.client_id, (cd.until_version IS NULL) DESC, cd.since_version DESC`,
  );
  const lastReportQ = store.sqlite.prepare(
    `SELECT state, adopted_manifest_version AS adoptedManifestVersion, digest, body, received_at AS receivedAt, event_at AS eventAt
       FROM status_reports WHERE deployment_id = ? AND node_uid = ? ORDER BY seq DESC LIMIT 1`,
  );

  /** Per deployment: one row per node (the newest YAML it was served). */
  const served = (id: string | null): Map<string, ServedRow[]> => {
    const out = new Map<string, ServedRow[]>();
    const seen = new Set<string>();
    for (const r of servedQ.all(id, id) as ServedRow[]) {
      const key = `${r.deploymentId}\u0000${r.clientId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const list = out.get(r.deploymentId) ?? [];
      list.push(r);
      out.set(r.deploymentId, list);
    }
    return out;
  };

  const build = (tenantId: string, id: string, rows: ServedRow[]) => {
    const mine = rows.filter((r) => splitClientId(r.clientId)?.tenantId === tenantId);
    if (mine.length === 0) return undefined;
    const newest = mine.find((r) => r.untilVersion === null) ?? mine[0]!;
    let doc: ApplicationDeployment | undefined;
    try {
      doc = parseApplicationDeployment(newest.yaml);
    } catch {
      doc = undefined;
    }
    const revisions = new Set(doc?.spec.deploymentProfile.components.map((c) => c.properties.revision));
    const version = revisions.size === 1 ? [...revisions][0]! : '-';
    const nodes = fleet.nodesByUids(mine.map((r) => r.clientId));
    const targets: TargetRow[] = mine.map((r) => {
      const rep = lastReportQ.get(id, r.clientId) as ReportRow | undefined;
      const node = nodes.get(r.clientId);
      return {
        deploymentId: id,
        nodeUid: r.clientId,
        tenantId,
        siteId: node?.siteId ?? '-',
        nodeName: node?.name ?? splitClientId(r.clientId)?.nodeName ?? r.clientId,
        desired: r.untilVersion === null ? 'present' : 'absent',
        generation: Number(doc?.metadata.labels?.['outpost.dev/revision'] ?? 1) || 1,
        version,
        prevGeneration: null,
        prevYamlDigest: null,
        yaml: null,
        yamlDigest: r.digest,
        reservation: null,
        state: rep?.state ?? null,
        stateAt: rep ? (rep.eventAt ?? rep.receivedAt) : null,
        receivedAt: rep?.receivedAt ?? null,
        adoptedManifestVersion: rep?.adoptedManifestVersion ?? null,
        status: rep ? (JSON.parse(rep.body) as unknown) : null,
        reportedDigest: rep?.digest ?? null,
        assignedAt: r.updatedAt,
      };
    });
    const present = targets.some((t) => t.desired === 'present');
    const allRemoved = targets.every((t) => t.state === 'removed');
    const params = doc?.spec.parameters ?? {};
    const d: DeploymentRow = {
      id,
      tenantId,
      name: doc?.metadata.name ?? id,
      appId: doc?.spec.applicationId ?? '-',
      version,
      profileId: '-',
      parameters: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, { value: v.value }])),
      target: { siteId: targets[0]!.siteId },
      state: present ? 'active' : allRemoved ? 'removed' : 'removing',
      rollout: null,
      generation: targets[0]!.generation,
      commit: newest.commit,
      createdAt: Math.min(...mine.map((r) => r.updatedAt)),
      updatedAt: Math.max(...mine.map((r) => r.updatedAt)),
      createdBy: 'the CO (desired state from git)',
    };
    return { d, targets, type: doc?.spec.deploymentProfile.type ?? 'unknown' };
  };

  return {
    list(tenantId, includeRemoved) {
      const now = clock.now();
      const out: DeploymentSummary[] = [];
      for (const [id, rows] of served(null)) {
        const b = build(tenantId, id, rows);
        if (!b || (!includeRemoved && b.d.state === 'removed')) continue;
        out.push(summaryOf(b.d, b.targets, fleet, now, b.type));
      }
      return { deployments: out.sort((a, b) => a.createdAt - b.createdAt), now };
    },
    get(tenantId, id) {
      const now = clock.now();
      const b = build(tenantId, id, served(id).get(id) ?? []);
      if (!b) throw errors.notFound('deployment', id);
      return buildView(b.d, b.targets, fleet, now, b.type);
    },
  };
}
