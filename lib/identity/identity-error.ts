import { OutpostError } from '../errors/index.js';

/**
 * Stable error codes of lib/identity and the HTTP status each maps to (module codes carry their status
 * explicitly instead of being added to lib/errors/index.ts).
 */
export const IDENTITY_ERRORS = {
  'identity/invalid-spiffe-id': 400,
  'identity/invalid-certificate': 400,
  'identity/invalid-key': 400,
  'identity/unsupported-key': 400,
  'identity/invalid-csr': 400,
  'identity/invalid-token': 400,
  'identity/invalid-trust-bundle': 422,
  'identity/trust-bundle-regressed': 409,
  'identity/invalid-discovery-document': 422,
  'identity/ca-exists': 409,
  'identity/ca-not-found': 404,
  'identity/files-exist': 409,
  'identity/peer-rejected': 403,
  'identity/pin-mismatch': 403,
} as const satisfies Record<string, number>;

export type IdentityErrorCode = keyof typeof IDENTITY_ERRORS;

export function identityError(
  code: IdentityErrorCode,
  message: string,
  options: { data?: unknown; cause?: unknown } = {},
): OutpostError {
  return new OutpostError(code, message, { ...options, status: IDENTITY_ERRORS[code] });
}
