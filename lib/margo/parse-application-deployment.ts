import {
  isParameterValue,
  DEPLOYMENT_TYPES,
  DEVICE_ID_WITH_ASTERISK,
  ProblemList,
  type Path,
  describe,
  pickExtensions,
  Reader,
  type Obj,
  type ApplicationDeployment,
  type Component,
  type ComponentProperties,
  type DeploymentType,
  type ParameterTarget,
  type ParameterValue,
} from '../model/index.js';
import { keepDeviceConstraints } from './read-device-constraints.js';
import { loadYaml, throwProblems } from './yaml-source.js';

export interface ParseApplicationDeploymentOptions {
  file?: string;
  /** Largest accepted input; default 1 MiB. */
  maxBytes?: number;
  /** Device id to assume when the YAML predates `metadata.deviceId` (the reader's own id); default ''. */
  deviceId?: string;
}

const WHAT = 'application deployment';
const CODE = 'margo/invalid-deployment';

/**
 * Reads an ApplicationDeployment YAML tolerantly (README section 1.2): the rc.3 shape and the older ones
 * (`apiVersion`/`kind`, `metadata.annotations.id` / `applicationId`, booleans written as strings, compose
 * `packageLocation`). Unknown members, including device-targeted `x-...-extensions`, never fail the read;
 * extensions are kept verbatim for the device to use or ignore. Throws `margo/invalid-deployment` (422)
 * only when something a device needs is missing or unusable.
 */
export function parseApplicationDeployment(
  input: string | Uint8Array,
  opts: ParseApplicationDeploymentOptions = {},
): ApplicationDeployment {
  const loadOpts = { file: opts.file, maxBytes: opts.maxBytes, what: WHAT, code: CODE };
  const src = loadYaml(input, loadOpts);
  const problems = new ProblemList();
  const out = readApplicationDeployment(new Reader(problems), src.value, opts.deviceId, (p) =>
    src.sourceOf(p),
  );
  const resolved = problems.resolve((p, a) => src.locate(p, a));
  if (problems.hasErrors || !out) throwProblems(loadOpts, resolved);
  return out;
}

/** The same for an already parsed value. */
export function normalizeApplicationDeployment(
  value: unknown,
  opts: { file?: string; deviceId?: string } = {},
): ApplicationDeployment {
  const problems = new ProblemList();
  const out = readApplicationDeployment(new Reader(problems), value, opts.deviceId);
  if (problems.hasErrors || !out)
    throwProblems({ file: opts.file, what: WHAT, code: CODE }, problems.resolve());
  return out;
}

function stringMap(r: Reader, path: Path, v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  const o = r.object(path, v);
  if (!o) return undefined;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) {
    if (typeof x === 'string') out[k] = x;
    else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
    else r.problems.error([...path, k], `must be a string, not ${describe(x)}`);
  }
  return out;
}

export function readApplicationDeployment(
  r: Reader,
  value: unknown,
  deviceIdDefault = '',
  sourceOf: (path: Path) => string | undefined = () => undefined,
): ApplicationDeployment | undefined {
  const root = r.object([], value);
  if (!root) return undefined;
  const metadata = r.requiredObject([], root, 'metadata');
  const spec = r.requiredObject([], root, 'spec');
  const annotations = metadata ? stringMap(r, ['metadata', 'annotations'], metadata.annotations) : undefined;

  let id = r.string([], root, 'id', { nonEmpty: true });
  if (id === undefined && root.id === undefined) id = annotations?.id;
  if (id === undefined && root.id === undefined)
    r.problems.error(['id'], 'is required (or metadata.annotations.id in older deployments)');
  else if (id !== undefined && annotations?.id !== undefined && annotations.id !== id) {
    r.problems.error(['metadata', 'annotations', 'id'], `"${annotations.id}" differs from id "${id}"`);
  }

  let name: string | undefined;
  let namespace: string | undefined;
  let deviceId: string | undefined = deviceIdDefault;
  let labels: Record<string, string> | undefined;
  if (metadata) {
    name = r.string(['metadata'], metadata, 'name', { required: true });
    namespace = r.string(['metadata'], metadata, 'namespace', { required: true });
    if (metadata.deviceId !== undefined && metadata.deviceId !== null) {
      deviceId = r.string(['metadata'], metadata, 'deviceId', {
        pattern: DEVICE_ID_WITH_ASTERISK,
        hint: 'gw, gw/child or gw/*',
      });
    }
    labels = stringMap(r, ['metadata', 'labels'], metadata.labels);
  }

  let applicationId: string | undefined;
  let profile: ApplicationDeployment['spec']['deploymentProfile'] | undefined;
  let parameters: ApplicationDeployment['spec']['parameters'];
  let specExt;
  if (spec) {
    applicationId = r.string(['spec'], spec, 'applicationId', { nonEmpty: true });
    if (applicationId === undefined && spec.applicationId === undefined) {
      applicationId = annotations?.applicationId;
      if (applicationId === undefined) {
        r.problems.error(
          ['spec', 'applicationId'],
          'is required (or metadata.annotations.applicationId in older deployments)',
        );
      }
    }
    const dp = r.requiredObject(['spec'], spec, 'deploymentProfile');
    if (dp) profile = readProfile(r, ['spec', 'deploymentProfile'], dp, sourceOf);
    parameters = readParameterValues(r, spec.parameters);
    specExt = pickExtensions(spec);
  }
  if (
    id === undefined ||
    !metadata ||
    name === undefined ||
    namespace === undefined ||
    deviceId === undefined
  )
    return undefined;
  if (applicationId === undefined || !profile) return undefined;
  const meta: ApplicationDeployment['metadata'] = { name, namespace, deviceId };
  if (labels) meta.labels = labels;
  if (annotations) meta.annotations = annotations;
  const out: ApplicationDeployment = {
    id,
    metadata: meta,
    spec: { applicationId, deploymentProfile: profile },
  };
  if (parameters) out.spec.parameters = parameters;
  if (specExt) out.spec.extensions = specExt;
  return out;
}

function readProfile(
  r: Reader,
  path: Path,
  dp: Obj,
  sourceOf: (path: Path) => string | undefined,
): ApplicationDeployment['spec']['deploymentProfile'] | undefined {
  let type = r.string(path, dp, 'type', { required: true });
  if (type === 'helm.v3') type = 'helm';
  if (type !== undefined && !(DEPLOYMENT_TYPES as readonly string[]).includes(type)) {
    r.problems.error([...path, 'type'], `"${type}" must be one of ${DEPLOYMENT_TYPES.join(', ')}`);
    type = undefined;
  }
  const components: Component[] = [];
  r.list(path, dp, 'components', { required: true, nonEmpty: true })?.forEach((c, i) => {
    const comp = readComponent(r, [...path, 'components', i], c, sourceOf);
    if (comp) components.push(comp);
  });
  if (type === undefined) return undefined;
  const out: ApplicationDeployment['spec']['deploymentProfile'] = {
    type: type as DeploymentType,
    components,
  };
  const dc = keepDeviceConstraints(dp.deviceConstraints);
  if (dc) out.deviceConstraints = dc;
  const ext = pickExtensions(dp);
  if (ext) out.extensions = ext;
  return out;
}

function readComponent(
  r: Reader,
  path: Path,
  v: unknown,
  sourceOf: (path: Path) => string | undefined,
): Component | undefined {
  const o = r.object(path, v);
  if (!o) return undefined;
  const name = r.string(path, o, 'name', { required: true });
  const pp = [...path, 'properties'];
  const props = o.properties === undefined || o.properties === null ? {} : r.object(pp, o.properties);
  if (!props) return undefined;
  const properties: ComponentProperties = {};
  for (const key of ['repository', 'revision', 'timeout', 'packageLocation', 'keyLocation'] as const) {
    const x = props[key];
    if (x === undefined || x === null) continue;
    if (typeof x === 'string') properties[key] = x;
    else if (typeof x === 'number') properties[key] = sourceOf([...pp, key]) ?? String(x);
    else r.problems.error([...pp, key], `must be a string, not ${describe(x)}`);
  }
  const wait = props.wait;
  if (typeof wait === 'boolean') properties.wait = wait;
  else if (typeof wait === 'string' && /^(true|false)$/i.test(wait.trim()))
    properties.wait = wait.trim().toLowerCase() === 'true';
  else if (wait !== undefined && wait !== null)
    r.problems.error([...pp, 'wait'], `must be true or false, not ${JSON.stringify(wait)}`);
  if (name === undefined) return undefined;
  const ext = pickExtensions(o);
  return { name, properties, ...(ext ? { extensions: ext } : {}) };
}

function readParameterValues(r: Reader, v: unknown): ApplicationDeployment['spec']['parameters'] {
  if (v === undefined || v === null) return undefined;
  const path: Path = ['spec', 'parameters'];
  const o = r.object(path, v);
  if (!o) return undefined;
  const out: Record<string, { value: ParameterValue; targets: ParameterTarget[] }> = {};
  for (const [name, pv] of Object.entries(o)) {
    const p = [...path, name];
    const po = r.object(p, pv);
    if (!po) continue;
    if (!isParameterValue(po.value)) {
      r.problems.error(
        [...p, 'value'],
        `must be a string, number, boolean or a list of these, not ${describe(po.value)}`,
      );
      continue;
    }
    const targets: ParameterTarget[] = [];
    r.list(p, po, 'targets')?.forEach((t, i) => {
      const tp = [...p, 'targets', i];
      const to = r.object(tp, t);
      if (!to) return;
      const pointer = r.string(tp, to, 'pointer', { required: true });
      const comps = r.list(tp, to, 'components', { required: true }) ?? [];
      const components = comps.filter((c): c is string => typeof c === 'string');
      if (components.length !== comps.length)
        r.problems.error([...tp, 'components'], 'must be a list of component names');
      if (pointer !== undefined) targets.push({ pointer, components });
    });
    out[name] = { value: po.value, targets };
  }
  return out;
}
