import { OutpostError } from '../errors/index.js';

/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): no whitespace, object members sorted by the UTF-16 code
 * units of their names, numbers in the ECMAScript shortest form (`1e+21`, `1e-7`, `-0` → `0`), strings with
 * only the mandatory escapes. Used to serialise the state manifest before hashing it (README section 5).
 *
 * Accepted values: null, booleans, finite numbers, strings without lone surrogates, arrays and plain
 * objects of these. Object members whose value is `undefined` are left out (as JSON.stringify does);
 * anything else (NaN, Infinity, bigint, functions, class instances, `undefined` in arrays) is refused
 * with `invalid-input`, since it has no I-JSON form.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, '$', 0);
  return parts.join('');
}

const MAX_DEPTH = 200;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function fail(path: string, what: string): never {
  throw new OutpostError('invalid-input', `canonicalJson: ${path} ${what}`);
}

function writeString(s: string, parts: string[], path: string): void {
  if (LONE_SURROGATE.test(s)) fail(path, 'holds a lone surrogate (not I-JSON)');
  // JSON.stringify escapes exactly what RFC 8785 section 3.2.2.2 requires: \" \\ \b \f \n \r \t and
  // \u00xx (lowercase hex) for the other control characters; all else is emitted as is.
  parts.push(JSON.stringify(s));
}

function write(v: unknown, parts: string[], path: string, depth: number): void {
  if (depth > MAX_DEPTH) fail(path, `nests deeper than ${MAX_DEPTH} levels`);
  if (v === null) {
    parts.push('null');
    return;
  }
  switch (typeof v) {
    case 'boolean':
      parts.push(v ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(v)) fail(path, `is ${v}, which JSON cannot represent`);
      // ECMAScript Number::toString is the JCS number format; -0 serialises as 0.
      parts.push(Object.is(v, -0) ? '0' : String(v));
      return;
    case 'string':
      writeString(v, parts, path);
      return;
    case 'object':
      break;
    default:
      fail(path, `is a ${typeof v}, which JSON cannot represent`);
  }
  if (Array.isArray(v)) {
    parts.push('[');
    for (let i = 0; i < v.length; i++) {
      if (i > 0) parts.push(',');
      const item: unknown = v[i];
      if (item === undefined) fail(`${path}[${i}]`, 'is undefined');
      write(item, parts, `${path}[${i}]`, depth + 1);
    }
    parts.push(']');
    return;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) fail(path, 'is not a plain object');
  const obj = v as Record<string, unknown>;
  // Default sort compares UTF-16 code units, which is what RFC 8785 section 3.2.3 asks for.
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  parts.push('{');
  keys.forEach((k, i) => {
    if (i > 0) parts.push(',');
    writeString(k, parts, path);
    parts.push(':');
    write(obj[k], parts, `${path}.${k}`, depth + 1);
  });
  parts.push('}');
}
