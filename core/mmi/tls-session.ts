/**
 * When a TLS session began: the `time` field of OpenSSL's serialised session (`SSL_SESSION_ASN1`, what
 * `TLSSocket.getSession()` returns), in ms since the epoch. OpenSSL keeps it across resumptions, so on a
 * resumed connection it is the time of the full handshake the session came from (ADR 0540).
 *
 *   SSL_SESSION_ASN1 ::= SEQUENCE { version, sslVersion, cipher, sessionId, masterKey,
 *                                   keyArg [0] OPTIONAL, time [1] EXPLICIT INTEGER OPTIONAL, ... }
 *
 * Undefined for anything it cannot read (the caller then counts the connection's age from now).
 */
export function sessionStartedAt(der: Buffer | undefined): number | undefined {
  if (der === undefined || der.length < 2 || der[0] !== 0x30) return undefined;
  const outer = header(der, 0);
  if (outer === undefined) return undefined;
  const end = Math.min(der.length, outer.start + outer.length);
  for (let i = outer.start; i < end;) {
    const h = header(der, i);
    if (h === undefined) return undefined;
    if (der[i] === 0xa1) {
      const inner = header(der, h.start);
      if (inner === undefined || der[h.start] !== 0x02 || inner.length < 1 || inner.length > 6)
        return undefined;
      let seconds = 0;
      for (let j = 0; j < inner.length; j++) seconds = seconds * 256 + der[inner.start + j]!;
      return seconds * 1000;
    }
    i = h.start + h.length;
  }
  return undefined;
}

/** Tag and length at `at`: where the content starts and how long it is. */
function header(der: Buffer, at: number): { start: number; length: number } | undefined {
  if (at + 2 > der.length) return undefined;
  const first = der[at + 1]!;
  if (first < 0x80) return { start: at + 2, length: first };
  const n = first & 0x7f;
  if (n === 0 || n > 4 || at + 2 + n > der.length) return undefined;
  let length = 0;
  for (let j = 0; j < n; j++) length = length * 256 + der[at + 2 + j]!;
  return { start: at + 2 + n, length };
}
