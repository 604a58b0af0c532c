import { OutpostError } from '../../lib/errors/index.js';
import { CONTROL_CHARACTERS } from '../../lib/model/index.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseFormat(v: string | undefined, fallback: OutputFormat = 'table'): OutputFormat {
  if (v === undefined) return fallback;
  if ((OUTPUT_FORMATS as readonly string[]).includes(v)) return v as OutputFormat;
  throw new OutpostError('invalid-input', `unknown output format "${v}" (use ${OUTPUT_FORMATS.join(', ')})`);
}

// Control characters and bidirectional controls; for whole blocks of text, line breaks and tabs excepted.
const UNSAFE_INLINE = new RegExp(CONTROL_CHARACTERS.source, 'g');
const UNSAFE_IN_BLOCK =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text for a terminal: every control character (an escape sequence, NUL, an RTL override) written as
 * a visible escape (`\x1b`, `\u202e`), so a name can neither move the cursor, recolour the screen nor
 * reverse what is printed after it. Line breaks and tabs stay unless `inline` (a table cell).
 */
export function escapeControls(text: string, inline = false): string {
  const esc = (c: string) => {
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  };
  return text.replace(inline ? UNSAFE_INLINE : UNSAFE_IN_BLOCK, esc);
}

/**
 * Writes machine formats for json/yaml, or calls `table` for humans (control characters escaped). The
 * YAML writer is loaded only for `-o yaml` (a command need not load it to start).
 */
export async function emit(format: OutputFormat, data: unknown, table: () => string): Promise<void> {
  if (format === 'json') process.stdout.write(JSON.stringify(data, null, 2) + '\n');
  else if (format === 'yaml') process.stdout.write((await import('yaml')).stringify(data));
  else process.stdout.write(escapeControls(table()).replace(/\n?$/, '\n'));
}

/** A plain aligned table: header row, then rows. Cells are one line each, control characters escaped. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((r) =>
    r.map((c) => (c === null || c === undefined ? '-' : escapeControls(String(c), true))),
  );
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
    .map(
      ([k, v]) =>
        `${(k + ':').padEnd(w + 1)}  ${v === null || v === undefined ? '-' : escapeControls(String(v), true)}`,
    )
    .join('\n');
}

export { formatAge } from '../../lib/contract/index.js';
