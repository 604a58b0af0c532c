/**
 * Removes credentials written into URLs (`https://user:token@host/...`) from whatever the audit log
 * keeps of a call: its input, its target and its error message. Secrets belong in configuration or
 * the environment; when an operator still pastes one into a URL, it must not end up in the database.
 */

/** `scheme://userinfo@` with a userinfo part, anywhere in a string. */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

export const CREDENTIALS_CENSOR = '[redacted]';

/** The string with every URL's userinfo replaced by `[redacted]`. */
export function scrubUrlCredentials(text: string): string {
  return text.replace(URL_USERINFO, `$1${CREDENTIALS_CENSOR}@`);
}

/** A copy of a JSON-like value with `scrubUrlCredentials` applied to every string in it. */
export function scrubCredentials<T>(value: T): T {
  return scrub(value) as T;
}

function scrub(value: unknown): unknown {
  if (typeof value === 'string') return scrubUrlCredentials(value);
  if (Array.isArray(value)) return value.map(scrub);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrub(v);
    return out;
  }
  return value;
}
