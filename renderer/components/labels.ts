import type { Node } from '../../lib/contract/index.js';

/** Label helpers for display and the label filter (no decisions: the server validates labels). */

export function formatLabelValue(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/**
 * `a=1, b=2` (commas or new lines) into a label map, as typed; the server validates keys and values.
 * A part without `=` is a key with an empty value.
 */
export function parseLabelText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(/[,\n]/)) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq < 0) out[p] = '';
    else out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return out;
}

/** Every `key=value` of a node's labels (its own and the ones it reported), for the label filter. */
export function labelStrings(n: Node): string[] {
  return [
    ...Object.entries(n.labels).map(([k, v]) => `${k}=${v}`.toLowerCase()),
    ...Object.entries(n.reportedLabels).map(([k, v]) => `${k}=${formatLabelValue(v)}`.toLowerCase()),
  ];
}

/** All of a node's labels as one `k=v k=v` string (quick filter, sorting). */
export function labelText(n: Node): string {
  return [
    ...Object.entries(n.labels).map(([k, v]) => `${k}=${v}`),
    ...Object.entries(n.reportedLabels)
      .filter(([k]) => !(k in n.labels))
      .map(([k, v]) => `${k}=${formatLabelValue(v)}`),
  ].join(' ');
}
