/**
 * Margo model library: the single public entry of core/margo. Pure (no database, no HTTP, no work at
 * import time; the Ajv schemas compile on first use). Follows shared/margo/README.md sections 1 and 2 and
 * the rc.3 OpenAPI; decisions the spec leaves open are in docs/adr/0100-0107.
 *
 * Application descriptions (`margo.yaml`)
 * - parseApplicationDescription(input, { file?, maxBytes? }) → { description, warnings, bytes }
 *     Throws `margo/invalid-description` (422) listing every problem (FieldProblem: field path, file,
 *     line, column) in one readable message; `payload-too-large` (413) over maxBytes (default 1 MiB).
 * - normalizeApplicationDescription(value) → { description, warnings }: the same checks on parsed JSON.
 * - renderApplicationDescription(desc) → YAML text in the newest shape, deterministic; parses back equal.
 *
 * Parameters
 * - resolveParameters(desc, profileId, given, { previous? }) → { [name]: { value, targets, source, immutable } }
 *     Throws `invalid-input` with one FieldProblem (`parameters.<name>`) per bad value.
 * - checkParameterValue(value, schemaRule) → string[]: the per-value rules, plain and browser-safe
 *     (also in ./parameter-validation.ts, which imports nothing from Node).
 * - coerceParameterInput(raw, dataType?, name?) → value for `--set name=value`; parameterDataType(desc, name).
 *
 * Application deployments (the per-device desired-state YAML)
 * - renderApplicationDeployment({ deploymentId, name, namespace, deviceId, applicationId, profile,
 *     parameters, labels?, extensions? }) → { yaml, object }: rc.3 shape, deterministic bytes.
 * - parseApplicationDeployment(input, { file?, maxBytes?, deviceId? }) → ApplicationDeployment, tolerant
 *     of the older shapes; throws `margo/invalid-deployment` (422).
 *
 * MMI request bodies (JSON)
 * - parseDeviceCapabilities(body, { pathDeviceId? }) → DeviceCapabilities
 * - parseDeploymentStatus(body, { pathDeploymentId, allowMissingAdoptedManifestVersion? }) → DeploymentStatus
 *     Both throw `margo/invalid-request` (400, malformed) or `margo/semantic-error` (422), with errors[].
 * - overallState(componentStates) → the most severe state (failed > removing > installing > pending >
 *     installed; removed only when all are removed).
 *
 * State manifest, digests, canonical JSON
 * - serializeStateManifest(manifest) → Buffer (RFC 8785 bytes); parseStateManifest(body) → StateManifest,
 *     throws `margo/invalid-manifest` (502); encodeStateManifest(manifest) → the same bytes, unchecked,
 *     for a manifest the server assembled from values it checked (the LO's fast path).
 * - canonicalJson(value) → string (RFC 8785); sha256Digest(bytes) → `sha256:<hex>`;
 *     parseDigest(s) → { algorithm, hex, digest }, throws `margo/invalid-digest` (400).
 *
 * Quantities and revisions
 * - parseQuantity('59 Gi') → bytes; compareRevisions('1.2.3_b1', '1.2.4') → SemVer order.
 */

export * from './types.js';
export {
  parseApplicationDescription,
  normalizeApplicationDescription,
  type ParseApplicationDescriptionOptions,
  type ParsedApplicationDescription,
} from './parse-application-description.js';
export { renderApplicationDescription } from './render-application-description.js';
export {
  resolveParameters,
  coerceParameterInput,
  parameterDataType,
  settingsByParameter,
  type ResolvedParameter,
  type ResolveParametersOptions,
} from './resolve-parameters.js';
export { checkParameterValue, isParameterValue, matchesDataType } from './parameter-validation.js';
export {
  renderApplicationDeployment,
  type RenderApplicationDeploymentInput,
} from './render-application-deployment.js';
export {
  parseApplicationDeployment,
  normalizeApplicationDeployment,
  type ParseApplicationDeploymentOptions,
} from './parse-application-deployment.js';
export { parseDeviceCapabilities, type ParseDeviceCapabilitiesOptions } from './device-capabilities.js';
export {
  parseDeploymentStatus,
  overallState,
  type ParseDeploymentStatusOptions,
} from './deployment-status.js';
export { INVALID_REQUEST, SEMANTIC_ERROR } from './request-body.js';
export { serializeStateManifest, encodeStateManifest, parseStateManifest } from './state-manifest.js';
export { canonicalJson } from './canonical-json.js';
export { sha256Digest, parseDigest, isDigest, DIGEST, type ParsedDigest } from './digest.js';
export { parseQuantity, tryParseQuantity } from './quantity.js';
export { compareRevisions, revisionToSemver, semverToRevision, isRevision } from './revision.js';
export { formatPath, formatProblem } from './problems.js';
export { DEFAULT_MAX_BYTES } from './yaml-source.js';
export * as margoPatterns from './patterns.js';
