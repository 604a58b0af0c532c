/**
 * RFC 6901 JSON pointers, compiled once (split and unescaped) and resolved many times.
 * Resolution never touches the prototype chain: only own properties count, so `/constructor` or
 * `/__proto__` resolve to "absent" unless the document really has such a member.
 */

/** A compiled pointer: the unescaped reference tokens. `[]` is the whole document (`""`). */
export type CompiledPointer = readonly string[];

/** The tokens of a pointer, or an error message when it is not a valid RFC 6901 pointer. */
export function compilePointer(pointer: string): CompiledPointer | { error: string } {
  if (pointer === '') return [];
  if (pointer.charCodeAt(0) !== 0x2f /* / */)
    return { error: `JSON pointer "${pointer}" must start with "/"` };
  const raw = pointer.slice(1).split('/');
  const tokens: string[] = [];
  for (const t of raw) {
    if (t.includes('~')) {
      if (/~(?![01])/.test(t))
        return { error: `JSON pointer "${pointer}" has an invalid escape (only ~0 and ~1)` };
      // Order matters (RFC 6901 section 4): first ~1 then ~0, so "~01" becomes "~1", not "/".
      tokens.push(t.replace(/~1/g, '/').replace(/~0/g, '~'));
    } else {
      tokens.push(t);
    }
  }
  return tokens;
}

/** Sentinel for "the pointer does not resolve" (distinct from a present `null`). */
export const ABSENT: unique symbol = Symbol('absent');

const hasOwn = Object.prototype.hasOwnProperty;

function isArrayIndex(token: string): boolean {
  // RFC 6901: "0" or a digit sequence without a leading zero; "-" names the (non-existent) element after the last.
  const n = token.length;
  if (n === 0) return false;
  const c0 = token.charCodeAt(0);
  if (c0 === 0x30) return n === 1;
  for (let i = 0; i < n; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The value at `tokens` inside `doc`, or ABSENT. */
export function resolvePointer(doc: unknown, tokens: CompiledPointer): unknown {
  let cur: unknown = doc;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (cur === null || typeof cur !== 'object') return ABSENT;
    if (Array.isArray(cur)) {
      if (!isArrayIndex(t)) return ABSENT;
      const idx = Number(t);
      if (idx >= cur.length) return ABSENT;
      cur = cur[idx];
    } else {
      if (!hasOwn.call(cur, t)) return ABSENT;
      cur = (cur as Record<string, unknown>)[t];
    }
    if (cur === undefined) return ABSENT;
  }
  return cur;
}

/**
 * A resolver specialised for one pointer (the common one-token case, a label or `/vendor`, skips the
 * loop). Equivalent to `resolvePointer(doc, tokens)`.
 */
export function compileGetter(tokens: CompiledPointer): (doc: unknown) => unknown {
  if (tokens.length === 0) return (doc) => doc;
  if (tokens.length === 1) {
    const t = tokens[0]!;
    const index = isArrayIndex(t) ? Number(t) : -1;
    return (doc) => {
      if (doc === null || typeof doc !== 'object') return ABSENT;
      if (Array.isArray(doc))
        return index >= 0 && index < doc.length && doc[index] !== undefined ? doc[index] : ABSENT;
      if (!hasOwn.call(doc, t)) return ABSENT;
      const v = (doc as Record<string, unknown>)[t];
      return v === undefined ? ABSENT : v;
    };
  }
  return (doc) => resolvePointer(doc, tokens);
}
