/**
 * Margo request-body validation against the rc.3 OpenAPI schemas (environment: node; Ajv). Kept apart
 * from lib/margo and lib/model so the edge agent never loads the JSON-schema validator.
 *
 * - parseDeviceCapabilities(body, { pathDeviceId? }) → DeviceCapabilities
 * - parseDeploymentStatus(body, { pathDeploymentId, allowMissingAdoptedManifestVersion? }) → DeploymentStatus
 *   Both throw `margo/invalid-request` (400, malformed) or `margo/semantic-error` (422), with errors[].
 */
export { parseDeviceCapabilities, type ParseDeviceCapabilitiesOptions } from './device-capabilities.js';
export { parseDeploymentStatus, type ParseDeploymentStatusOptions } from './deployment-status.js';
export { INVALID_REQUEST, SEMANTIC_ERROR } from './request-body.js';
