import { type DeploymentState, type DeploymentStatus, describe, isObject } from '../model/index.js';
import { schemaProblems, throwBodyProblems, type BodyProblem } from './request-body.js';

export interface ParseDeploymentStatusOptions {
  /** The `{deploymentId}` of `POST /api/v1/deployments/{deploymentId}/status`: the body must name the same. */
  pathDeploymentId: string;
  /**
   * Accept a body without `adoptedManifestVersion` (rc.2 clients; the rc.2 example lacks it) and read it
   * as 0, "not reported". Off by default: rc.3 requires it and the CTT answers 422 (ADR 0104).
   */
  allowMissingAdoptedManifestVersion?: boolean;
}

const SUBJECT = 'deployment status';
type StatusError = NonNullable<DeploymentStatus['status']['error']>;

/**
 * Reads the body of `POST /api/v1/deployments/{deploymentId}/status` (README section 1.4) per rc.3:
 * required `deploymentId`, `adoptedManifestVersion` (a positive integer), `status.state` and
 * `components[]`, states from the enum, unique component names, and `deploymentId` equal to the path
 * (422 otherwise). An older `apiVersion`/`kind` envelope is dropped; an error whose members are all
 * empty strings (as in the rc.2 example) means "no error" and is dropped too. Throws 400
 * `margo/invalid-request` or 422 `margo/semantic-error`.
 */
export function parseDeploymentStatus(body: unknown, opts: ParseDeploymentStatusOptions): DeploymentStatus {
  if (!isObject(body)) {
    throwBodyProblems(SUBJECT, [
      { field: '', message: `must be a JSON object, not ${describe(body)}`, kind: 'malformed' },
    ]);
  }
  const problems: BodyProblem[] = [];
  const { apiVersion, kind, ...value } = body;
  if (apiVersion !== undefined && typeof apiVersion !== 'string') {
    problems.push({ field: 'apiVersion', message: 'must be string', kind: 'malformed' });
  }
  if (kind !== undefined && kind !== 'DeploymentStatusManifest') {
    problems.push({
      field: 'kind',
      message: `must be DeploymentStatusManifest, not ${JSON.stringify(kind)}`,
      kind: 'semantic',
    });
  }
  const missingVersion = value.adoptedManifestVersion === undefined;
  const legacy = missingVersion && opts.allowMissingAdoptedManifestVersion === true;
  const checked = legacy ? { ...value, adoptedManifestVersion: 1 } : value;
  for (const p of schemaProblems('DeploymentStatusManifest', checked)) {
    if (p.field === 'adoptedManifestVersion' && p.message === 'is required') {
      p.message = 'is required (rc.3): the manifestVersion this deployment revision was adopted from';
    }
    problems.push(p);
  }
  const v = value.adoptedManifestVersion;
  if (typeof v === 'number' && (!Number.isSafeInteger(v) || v < 1)) {
    problems.push({
      field: 'adoptedManifestVersion',
      message: `must be a positive integer, not ${v}`,
      kind: 'semantic',
    });
  }
  if (typeof value.deploymentId === 'string' && value.deploymentId !== opts.pathDeploymentId) {
    problems.push({
      field: 'deploymentId',
      message: `"${value.deploymentId}" differs from the deployment id in the path "${opts.pathDeploymentId}"`,
      kind: 'semantic',
    });
  }
  const components = Array.isArray(value.components) ? value.components : [];
  const names = new Set<string>();
  components.forEach((c: unknown, i: number) => {
    if (isObject(c) && typeof c.name === 'string') {
      if (names.has(c.name)) {
        problems.push({
          field: `components[${i}].name`,
          message: `duplicate component "${c.name}"`,
          kind: 'semantic',
        });
      }
      names.add(c.name);
    }
  });
  if (problems.length > 0) throwBodyProblems(SUBJECT, problems);

  const status = value.status as { state: DeploymentState; error?: unknown };
  const out: DeploymentStatus = {
    deploymentId: value.deploymentId as string,
    adoptedManifestVersion: legacy ? 0 : (v as number),
    status: withError({ state: status.state }, status.error),
    components: (components as { name: string; state: DeploymentState; error?: unknown }[]).map((c) =>
      withError({ name: c.name, state: c.state }, c.error),
    ),
  };
  if (typeof value.deviceId === 'string') out.deviceId = value.deviceId;
  return out;
}

function withError<T extends object>(target: T, error: unknown): T & { error?: StatusError } {
  if (!isObject(error)) return target;
  const e: StatusError = {};
  for (const k of ['code', 'source', 'message'] as const)
    if (typeof error[k] === 'string') e[k] = error[k] as string;
  const empty = Object.values(e).every((x) => x === '');
  return empty ? target : { ...target, error: e };
}
