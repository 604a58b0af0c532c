import { OutpostError, type FieldProblem } from '../errors/index.js';
import {
  isParameterValue,
  APPLICATION_ID,
  DEPLOYMENT_ID,
  DEVICE_ID_WITH_ASTERISK,
  EXTENSION_KEY,
  LEGACY_APPLICATION_ID,
  ProblemList,
  summarize,
  Reader,
  type ApplicationDeployment,
  type DeploymentProfile,
  type Extensions,
  type ParameterTarget,
  type ParameterValue,
} from '../model/index.js';
import { readApplicationDeployment } from './parse-application-deployment.js';
import { componentObject, extensionMembers, toYaml } from './render-application-description.js';

export interface RenderApplicationDeploymentInput {
  /** Deployment id (a UUID); emitted as the top-level `id`. */
  deploymentId: string;
  /** `metadata.name` and `metadata.namespace`, chosen by the WFM. */
  name: string;
  namespace: string;
  /** Target device: `gw`, `gw/child`, or `gw/*` to let a gateway choose. */
  deviceId: string;
  /** The ApplicationDescription id. */
  applicationId: string;
  /** The profile chosen for this device, as in the description. */
  profile: DeploymentProfile;
  /** Values per parameter (e.g. from resolveParameters); extra members are ignored. */
  parameters: Record<string, { value: ParameterValue; targets: ParameterTarget[] }>;
  labels?: Record<string, string>;
  /** `spec`-level `x-<name>-extensions` for the device supplier (never the description's root-level ones). */
  extensions?: Extensions;
}

/**
 * Renders the rc.3 ApplicationDeployment YAML for one device (README section 1.2): `id` always emitted,
 * the profile's deviceConstraints and `x-...-extensions` copied unchanged, parameters and labels in name
 * order, and a fixed key order everywhere, so the same input always gives the same bytes. Root-level
 * description extensions are for the WFM and are never part of a deployment. Throws `invalid-input`.
 */
export function renderApplicationDeployment(input: RenderApplicationDeploymentInput): {
  yaml: string;
  object: ApplicationDeployment;
} {
  checkInput(input);
  const { profile } = input;
  const metadata: Record<string, unknown> = {
    name: input.name,
    namespace: input.namespace,
    deviceId: input.deviceId,
  };
  const labelKeys = Object.keys(input.labels ?? {}).sort();
  if (labelKeys.length > 0) metadata.labels = Object.fromEntries(labelKeys.map((k) => [k, input.labels![k]]));
  const deploymentProfile: Record<string, unknown> = {
    type: profile.type,
    components: profile.components.map(componentObject),
  };
  if (profile.deviceConstraints)
    deploymentProfile.deviceConstraints = structuredClone(profile.deviceConstraints);
  Object.assign(deploymentProfile, extensionMembers(profile.extensions));
  const spec: Record<string, unknown> = { applicationId: input.applicationId, deploymentProfile };
  const names = Object.keys(input.parameters).sort();
  if (names.length > 0) {
    spec.parameters = Object.fromEntries(
      names.map((n) => {
        const p = input.parameters[n]!;
        return [
          n,
          {
            value: p.value,
            targets: p.targets.map((t) => ({ pointer: t.pointer, components: [...t.components] })),
          },
        ];
      }),
    );
  }
  Object.assign(spec, extensionMembers(input.extensions));
  const plain = { id: input.deploymentId, metadata, spec };

  const yaml = toYaml(plain);
  const problems = new ProblemList();
  const object = readApplicationDeployment(new Reader(problems), structuredClone(plain));
  if (!object || problems.hasErrors) {
    throw new OutpostError('internal', summarize('rendered application deployment', problems.resolve()));
  }
  return { yaml, object };
}

function checkInput(input: RenderApplicationDeploymentInput): void {
  const errors: FieldProblem[] = [];
  const fail = (field: string, message: string) => errors.push({ field, message });
  if (typeof input.deploymentId !== 'string' || !DEPLOYMENT_ID.test(input.deploymentId)) {
    fail('deploymentId', `${JSON.stringify(input.deploymentId)} must match ${DEPLOYMENT_ID.source} (a UUID)`);
  }
  for (const k of ['name', 'namespace'] as const) {
    if (typeof input[k] !== 'string' || input[k].trim() === '') fail(k, 'must be a non-empty string');
  }
  if (typeof input.deviceId !== 'string' || !DEVICE_ID_WITH_ASTERISK.test(input.deviceId)) {
    fail('deviceId', `${JSON.stringify(input.deviceId)} must match ${DEVICE_ID_WITH_ASTERISK.source}`);
  }
  if (
    typeof input.applicationId !== 'string' ||
    !(APPLICATION_ID.test(input.applicationId) || LEGACY_APPLICATION_ID.test(input.applicationId))
  ) {
    fail('applicationId', `${JSON.stringify(input.applicationId)} must match ${APPLICATION_ID.source}`);
  }
  const components = new Set(input.profile.components.map((c) => c.name));
  if (components.size === 0) fail('profile.components', 'a profile needs at least one component');
  for (const [name, p] of Object.entries(input.parameters)) {
    if (!isParameterValue(p.value))
      fail(`parameters.${name}`, 'must have a string, number, boolean or list value');
    for (const t of p.targets) {
      for (const c of t.components) {
        if (!components.has(c))
          fail(`parameters.${name}`, `target component "${c}" is not in profile "${input.profile.id}"`);
      }
    }
  }
  for (const [k, v] of Object.entries(input.labels ?? {})) {
    if (typeof v !== 'string') fail(`labels.${k}`, 'must be a string');
  }
  for (const k of Object.keys(input.extensions ?? {})) {
    if (!EXTENSION_KEY.test(k)) fail(`extensions.${k}`, `must match ${EXTENSION_KEY.source}`);
  }
  if (errors.length > 0) {
    const problems = errors.map((e) => ({ path: e.field, message: e.message, severity: 'error' as const }));
    throw new OutpostError('invalid-input', summarize('application deployment', problems), { errors });
  }
}
