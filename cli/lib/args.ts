import { OutpostError } from '../../lib/errors/index.js';

/** Collects repeatable options: `--label a=b --label c=d`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `k=v` pairs into a record; a clear one-line error for anything else. */
export function parsePairs(pairs: string[] | undefined, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw new OutpostError('invalid-input', `${what} "${p}" must look like key=value`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** A duration like `90s`, `30m`, `12h`, `7d` or `2w` in seconds (a bare number is seconds). */
export function parseDuration(v: string, what: string): number {
  const m = /^(\d+)\s*(s|m|min|h|d|w)?$/.exec(v.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(n) || n <= 0)
    throw new OutpostError('invalid-input', `${what}: "${v}" is not a duration like 30m, 12h, 7d or 2w`);
  const unit = { s: 1, m: 60, min: 60, h: 3600, d: 86400, w: 604800 }[m[2] ?? 's']!;
  return n * unit;
}
