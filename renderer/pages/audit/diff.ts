/** One difference between two inputs: a path (`rollout.maxUnavailable`, `nodes[2]`) and both values. */
export interface InputChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What changed from `before` to `after` (two audited inputs, ADR 0232): objects compared key by key,
 * arrays element by element, anything else by its JSON text. Paths are sorted; at most `max` changes.
 */
export function diffInputs(before: unknown, after: unknown, max = 200): InputChange[] {
  const out: InputChange[] = [];
  const walk = (a: unknown, b: unknown, path: string, depth: number) => {
    if (out.length >= max) return;
    if (depth < 32 && isObject(a) && isObject(b)) {
      for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        if (out.length >= max) return;
        const p = path ? `${path}.${k}` : k;
        if (!(k in a)) out.push({ path: p, kind: 'added', after: b[k] });
        else if (!(k in b)) out.push({ path: p, kind: 'removed', before: a[k] });
        else walk(a[k], b[k], p, depth + 1);
      }
      return;
    }
    if (depth < 32 && Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length) && out.length < max; i++) {
        const p = `${path}[${i}]`;
        if (i >= a.length) out.push({ path: p, kind: 'added', after: b[i] });
        else if (i >= b.length) out.push({ path: p, kind: 'removed', before: a[i] });
        else walk(a[i], b[i], p, depth + 1);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b))
      out.push({ path: path || '(input)', kind: 'changed', before: a, after: b });
  };
  walk(before, after, '', 0);
  return out;
}

/** A value in one short line for the diff table. */
export function showValue(v: unknown, maxChars = 120): string {
  const s = v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > maxChars ? `${s.slice(0, maxChars - 1)}…` : s;
}
