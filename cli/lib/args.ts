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
