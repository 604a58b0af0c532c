import { OutpostError } from '../errors/index.js';

/**
 * Error codes of the OCI client. They are module codes (lib/errors/index.ts allows `<module>/<name>`),
 * each with the HTTP status it maps to when it crosses the console API.
 */
export const OCI_ERROR_STATUS = {
  'oci/invalid-reference': 400,
  'oci/invalid-digest': 400,
  'oci/invalid-manifest': 502,
  'oci/unsupported-media-type': 415,
  'oci/no-matching-platform': 404,
  'oci/not-found': 404,
  'oci/unauthorized': 401,
  'oci/forbidden': 403,
  'oci/digest-mismatch': 502,
  'oci/size-exceeded': 413,
  'oci/plain-http-refused': 400,
  'oci/tls-error': 502,
  'oci/registry-error': 502,
  'network-error': 502,
  timeout: 504,
  cancelled: 499,
} as const satisfies Record<string, number>;

export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

export function ociError(code: OciErrorCode, message: string, data?: unknown, cause?: unknown): OutpostError {
  return new OutpostError(code, message, { status: OCI_ERROR_STATUS[code], data, cause });
}

/** Node / undici error codes that mean "the peer's TLS certificate is not trusted or does not match". */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** Walks `cause` chains (undici wraps socket errors as `TypeError: fetch failed` with a cause). */
function causes(err: unknown): { code?: string; message: string; name?: string }[] {
  const out: { code?: string; message: string; name?: string }[] = [];
  let e: unknown = err;
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    const x = e as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown };
    out.push({
      code: typeof x.code === 'string' ? x.code : undefined,
      message: typeof x.message === 'string' ? x.message : String(e),
      name: typeof x.name === 'string' ? x.name : undefined,
    });
    e = x.cause;
  }
  return out;
}

export function isAbortError(err: unknown): boolean {
  return causes(err).some(
    (c) => c.name === 'AbortError' || c.code === 'ABORT_ERR' || c.code === 'UND_ERR_ABORTED',
  );
}

/**
 * Turns whatever fetch threw into one OutpostError whose message names `what` (the reference or URL)
 * and the reason in one line: `cancelled`, `timeout`, `oci/tls-error` or `network-error`.
 */
export function networkError(err: unknown, what: string, scheme: 'http' | 'https'): OutpostError {
  if (err instanceof OutpostError) return err;
  const chain = causes(err);
  if (isAbortError(err)) return ociError('cancelled', `${what}: cancelled`, undefined, err);
  const timeout = chain.find((c) => c.code && TIMEOUT_CODES.has(c.code));
  if (timeout)
    return ociError(
      'timeout',
      `${what}: the registry did not answer in time (${timeout.code})`,
      undefined,
      err,
    );
  const tls = chain.find((c) => c.code && TLS_CODES.has(c.code));
  if (tls)
    return ociError(
      'oci/tls-error',
      `${what}: the registry's TLS certificate is not trusted (${tls.code}: ${tls.message}); give the private CA that signed it`,
      { reason: tls.code },
      err,
    );
  const deepest = [...chain].reverse().find((c) => c.code) ?? chain[chain.length - 1];
  const text = deepest ? oneLine(deepest.message) : 'unknown';
  const reason = deepest?.code ? `${deepest.code}: ${text}` : text;
  const hint =
    scheme === 'https' && /wrong version number|EPROTO|packet length too long/i.test(reason)
      ? ' (the registry may speak plain HTTP)'
      : '';
  return ociError('network-error', `${what}: ${reason}${hint}`, { reason: deepest?.code }, err);
}

/** First line of a message; OpenSSL's `…:error:0A00010B:SSL routines:fn:reason:file:line:` becomes `reason`. */
function oneLine(message: string): string {
  const first = message.split('\n')[0]!.trim();
  const ssl = /:error:[0-9A-Fa-f]+:[^:]*:[^:]*:([^:]+):/.exec(first);
  return ssl ? ssl[1]!.trim() : first;
}
