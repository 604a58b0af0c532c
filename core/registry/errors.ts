import { OutpostError } from '../../lib/errors/index.js';

/**
 * Error codes of the site registry, with the HTTP status and the OCI Distribution error code each is
 * answered with on the wire (`{"errors": [{"code", "message", "detail"}]}`). In-process callers (the
 * bundle import, `registry.gc`) see the same OutpostErrors.
 */
export const REGISTRY_ERRORS = {
  'registry/blob-unknown': { status: 404, oci: 'BLOB_UNKNOWN' },
  'registry/upload-unknown': { status: 404, oci: 'BLOB_UPLOAD_UNKNOWN' },
  'registry/upload-invalid': { status: 400, oci: 'BLOB_UPLOAD_INVALID' },
  'registry/range-invalid': { status: 416, oci: 'BLOB_UPLOAD_INVALID' },
  'registry/digest-invalid': { status: 400, oci: 'DIGEST_INVALID' },
  'registry/size-invalid': { status: 400, oci: 'SIZE_INVALID' },
  'registry/name-invalid': { status: 400, oci: 'NAME_INVALID' },
  'registry/name-unknown': { status: 404, oci: 'NAME_UNKNOWN' },
  'registry/manifest-unknown': { status: 404, oci: 'MANIFEST_UNKNOWN' },
  'registry/manifest-invalid': { status: 400, oci: 'MANIFEST_INVALID' },
  'registry/manifest-blob-unknown': { status: 400, oci: 'MANIFEST_BLOB_UNKNOWN' },
  'registry/tag-invalid': { status: 400, oci: 'TAG_INVALID' },
  'registry/too-large': { status: 413, oci: 'SIZE_INVALID' },
  'registry/quota-exceeded': { status: 507, oci: 'DENIED' },
  'registry/unsupported': { status: 405, oci: 'UNSUPPORTED' },
  'registry/unauthorized': { status: 401, oci: 'UNAUTHORIZED' },
  'registry/denied': { status: 403, oci: 'DENIED' },
  'registry/disabled': { status: 409, oci: 'UNSUPPORTED' },
} as const satisfies Record<string, { status: number; oci: string }>;

export type RegistryErrorCode = keyof typeof REGISTRY_ERRORS;

export function registryError(code: RegistryErrorCode, message: string, data?: unknown): OutpostError {
  return new OutpostError(code, message, { status: REGISTRY_ERRORS[code].status, data });
}

/** The OCI Distribution error code for an error the registry raised (UNKNOWN for anything else). */
export function ociCodeOf(err: OutpostError): string {
  return (REGISTRY_ERRORS as Record<string, { oci: string }>)[err.code]?.oci ?? 'UNKNOWN';
}
