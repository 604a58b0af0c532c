import type { Logger } from '../../lib/log/index.js';

/**
 * Security events: logged at error level with a stable message (operators alert on the text) and a
 * stable `securityEvent` key. Never with keys, tokens, seeds or whole documents.
 */
export const SecurityEvent = {
  manifestVersionNotIncreasing:
    'security: refused a state manifest whose manifestVersion is not greater than the adopted one; the previous desired state is kept',
  manifestInvalid: 'security: refused an invalid state manifest; the previous desired state is kept',
  digestMismatch:
    'security: digest mismatch in the desired state; the manifest is refused and the previous desired state is kept',
  artifactDigestMismatch: 'security: an OCI artifact does not match its digest; it was not used',
  wrongServerIdentity:
    'security: the LO presented a certificate that is not the expected WFM identity; the connection was refused',
} as const;

export type SecurityEventName = keyof typeof SecurityEvent;

export function securityEvent(
  log: Logger,
  name: SecurityEventName,
  fields: Record<string, unknown> = {},
): void {
  log.error({ securityEvent: name, ...fields }, SecurityEvent[name]);
}

/** TLS failures that mean "the peer is not who it must be" (wrong CA, wrong SPIFFE ID, bad certificate). */
export function isPeerIdentityError(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } } | undefined;
  const code = e?.code ?? '';
  const cause = e?.cause?.code ?? '';
  const tls = /^(identity\/peer-rejected|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|ERR_TLS_CERT)/;
  return (
    tls.test(code) || tls.test(cause) || (e as { data?: { errno?: string } })?.data?.errno?.match(tls) != null
  );
}
