import { OutpostError } from '../../lib/errors/index.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseFormat(v: string | undefined, fallback: OutputFormat = 'table'): OutputFormat {
  if (v === undefined) return fallback;
  if ((OUTPUT_FORMATS as readonly string[]).includes(v)) return v as OutputFormat;
  throw new OutpostError('invalid-input', `unknown output format "${v}" (use ${OUTPUT_FORMATS.join(', ')})`);
}

/**
 * Writes machine formats for json/yaml, or calls `table` for humans. The YAML writer is loaded only for
 * `-o yaml` (a command need not load it to start).
 */
export async function emit(format: OutputFormat, data: unknown, table: () => string): Promise<void> {
  if (format === 'json') process.stdout.write(JSON.stringify(data, null, 2) + '\n');
  else if (format === 'yaml') process.stdout.write((await import('yaml')).stringify(data));
  else process.stdout.write(table().replace(/\n?$/, '\n'));
}

/** A plain aligned table: header row, then rows. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** Key/value block for a single record. */
export function keyValues(pairs: [string, string | number | null | undefined][]): string {
  const w = Math.max(...pairs.map(([k]) => k.length));
  return pairs
    .map(([k, v]) => `${(k + ':').padEnd(w + 1)}  ${v === null || v === undefined ? '-' : String(v)}`)
    .join('\n');
}

export { formatAge } from '../../lib/contract/index.js';
