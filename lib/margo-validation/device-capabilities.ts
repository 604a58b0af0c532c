import {
  DEVICE_ID,
  tryParseQuantity,
  describe,
  isObject,
  pickExtensions,
  type DeviceCapabilities,
} from '../model/index.js';
import { schemaProblems, throwBodyProblems, type BodyProblem } from './request-body.js';

export interface ParseDeviceCapabilitiesOptions {
  /** The `{deviceId}` of `PUT /api/v1/capabilities/{deviceId}`: `properties.id` must equal it. */
  pathDeviceId?: string;
}

const SUBJECT = 'device capabilities';

/**
 * Reads the body of `PUT /api/v1/capabilities/{deviceId}` (README section 1.5) strictly per rc.3: no
 * members besides `properties`, `labels` and `x-<name>-extensions`, the DeviceId pattern, the enums.
 * The rc.2 `apiVersion`/`kind` envelope is refused (400: rc.3 closes the object, ADR 0103); rc.2 `cpu`
 * is still read as `cpus` (`properties` is open).
 * Memory and storage must be quantities parseQuantity understands (`"59 Gi"` included).
 * Throws 400 `margo/invalid-request` for a malformed body, 422 `margo/semantic-error` otherwise.
 */
export function parseDeviceCapabilities(
  body: unknown,
  opts: ParseDeviceCapabilitiesOptions = {},
): DeviceCapabilities {
  if (!isObject(body)) {
    throwBodyProblems(SUBJECT, [
      { field: '', message: `must be a JSON object, not ${describe(body)}`, kind: 'malformed' },
    ]);
  }
  const problems: BodyProblem[] = [];
  if (opts.pathDeviceId !== undefined && !DEVICE_ID.test(opts.pathDeviceId)) {
    problems.push({
      field: 'deviceId',
      message: `path device id "${opts.pathDeviceId}" must match ${DEVICE_ID.source}`,
      kind: 'malformed',
    });
  }
  const { apiVersion, kind, ...rest } = body;
  for (const [field, v] of [
    ['apiVersion', apiVersion],
    ['kind', kind],
  ] as const) {
    if (v !== undefined)
      problems.push({
        field,
        message: `unknown member "${field}": rc.3 capabilities have no apiVersion/kind envelope (that was rc.2); send properties, labels and extensions only`,
        kind: 'malformed',
      });
  }
  const value: Record<string, unknown> = { ...rest };
  if (isObject(rest.properties) && rest.properties.cpu !== undefined) {
    const { cpu, ...props } = rest.properties;
    if (props.cpus !== undefined) {
      problems.push({
        field: 'properties.cpu',
        message: 'rc.2 cpu and rc.3 cpus are both given; send cpus only',
        kind: 'semantic',
      });
    }
    value.properties = { ...props, cpus: props.cpus ?? cpu };
  }
  problems.push(...schemaProblems('DeviceCapabilitiesManifest', value));
  const props = isObject(value.properties) ? value.properties : undefined;
  for (const key of ['memory', 'storage'] as const) {
    const q = props?.[key];
    if (typeof q === 'string' && tryParseQuantity(q) === undefined) {
      problems.push({
        field: `properties.${key}`,
        message: `"${q}" is not a quantity (a number with a unit such as Mi or Gi, e.g. 64Gi)`,
        kind: 'semantic',
      });
    }
  }
  if (opts.pathDeviceId !== undefined && typeof props?.id === 'string' && props.id !== opts.pathDeviceId) {
    problems.push({
      field: 'properties.id',
      message: `"${props.id}" differs from the device id in the path "${opts.pathDeviceId}"`,
      kind: 'semantic',
    });
  }
  if (problems.length > 0) throwBodyProblems(SUBJECT, problems);

  const out: DeviceCapabilities = { properties: props as DeviceCapabilities['properties'] };
  if (isObject(value.labels)) out.labels = value.labels as DeviceCapabilities['labels'];
  const ext = pickExtensions(value);
  if (ext) out.extensions = ext;
  return out;
}
