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

/** Deeper than this, a value is replaced by a marker instead of walked (input is refused deeper anyway). */
export const MAX_SCRUB_DEPTH = 64;
export const TOO_DEEP = '[too deep]';

/**
 * A copy of a JSON-like value with `scrubUrlCredentials` applied to every string in it. Bounded: parts
 * nested deeper than MAX_SCRUB_DEPTH become `[too deep]`, so no value can exhaust the stack.
 */
export function scrubCredentials<T>(value: T): T {
  return scrub(value, 0) as T;
}

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubUrlCredentials(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_SCRUB_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}
