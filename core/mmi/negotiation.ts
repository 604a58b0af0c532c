/**
 * HTTP header parsing the MMI server needs (RFC 9110 sections 8.4, 12.5.1, 12.5.3 and 13.1.2), kept pure so
 * every corner is unit-tested: `Accept` media ranges with q-values, `Accept-Encoding` codings with
 * q-values, and `If-None-Match` entity-tag lists (weak comparison, `*`).
 */

interface Weighted {
  value: string;
  q: number;
  /** Parameters other than q, lowercased names (media ranges only). */
  params: Record<string, string>;
}

/** Splits a comma-separated header list, ignoring commas inside quoted strings. */
function splitList(header: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < header.length; i++) {
    const c = header[i]!;
    if (quoted && c === '\\' && i + 1 < header.length) {
      cur += c + header[++i]!;
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      if (cur.trim() !== '') out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}

function parseQ(raw: string | undefined): number {
  if (raw === undefined) return 1;
  // RFC 9110 qvalue: 0 to 1 with at most three decimals; anything unreadable counts as "not acceptable".
  if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(raw.trim())) return 0;
  return Number(raw.trim());
}

function parseWeighted(header: string): Weighted[] {
  return splitList(header).map((item) => {
    const [value = '', ...rest] = item.split(';');
    const params: Record<string, string> = {};
    let q = 1;
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const name = p.slice(0, eq).trim().toLowerCase();
      const v = p
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
      if (name === 'q') q = parseQ(v);
      else params[name] = v;
    }
    return { value: value.trim().toLowerCase(), q, params };
  });
}

/**
 * Whether `mediaType` (e.g. `application/vnd.margo.manifest.v1+json`) is acceptable under the request's
 * `Accept` header. An omitted or empty header accepts anything (the server then sends its default). The most
 * specific matching range decides (RFC 9110 12.5.1): an exact type with `q=0` excludes it even when `*\/*`
 * is also listed. Media-type parameters in the range other than q are ignored.
 */
export function acceptsMediaType(accept: string | undefined, mediaType: string): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  const want = mediaType.toLowerCase();
  const [type, subtype] = want.split('/');
  let best: { specificity: number; q: number } | undefined;
  for (const range of parseWeighted(accept)) {
    const [rt, rs] = range.value.split('/');
    if (rt === undefined || rs === undefined) continue;
    let specificity: number;
    if (rt === '*' && rs === '*') specificity = 0;
    else if (rt === type && rs === '*') specificity = 1;
    else if (rt === type && rs === subtype) specificity = 2;
    else continue;
    if (best === undefined || specificity > best.specificity) best = { specificity, q: range.q };
  }
  return best !== undefined && best.q > 0;
}

/**
 * Whether the request accepts the `gzip` content coding (`Accept-Encoding`, RFC 9110 12.5.3): listed with
 * q > 0 (or `x-gzip`), or `*` with q > 0 when gzip is not listed. No header means no preference: we then
 * send the identity coding, which every client understands.
 */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined || acceptEncoding.trim() === '') return false;
  const codings = parseWeighted(acceptEncoding);
  const named = codings.find((c) => c.value === 'gzip' || c.value === 'x-gzip');
  if (named) return named.q > 0;
  const star = codings.find((c) => c.value === '*');
  return star !== undefined && star.q > 0;
}

/**
 * Whether `If-None-Match` matches the current representation whose validator is `opaque` (the digest,
 * without quotes): `*`, or any listed entity tag equal to it after removing `W/` and the quotes (weak
 * comparison, as RFC 9110 13.1.2 prescribes for If-None-Match).
 */
export function ifNoneMatchMatches(header: string | string[] | undefined, opaque: string): boolean {
  if (header === undefined) return false;
  const text = Array.isArray(header) ? header.join(',') : header;
  for (const tag of splitList(text)) {
    if (tag === '*') return true;
    const bare = tag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
    if (bare === opaque) return true;
  }
  return false;
}

/** Quotes a validator as a strong entity tag: `sha256:ab..` → `"sha256:ab.."`. */
export function strongEtag(opaque: string): string {
  return `"${opaque}"`;
}
