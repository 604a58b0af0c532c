/** Short human forms of bytes and cores for placement messages (quantities are parsed by lib/model). */

const BINARY_STEPS = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'] as const;

/** Short human form in binary units, e.g. `2Gi`, `1.5Gi`, `512Mi`, `300` (bytes). Negative values keep their sign. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return String(bytes);
  const sign = bytes < 0 ? '-' : '';
  let v = Math.abs(bytes);
  if (v < 1024) return sign + String(Math.round(v));
  let unit = '';
  for (const step of BINARY_STEPS) {
    if (v < 1024) break;
    v /= 1024;
    unit = step;
  }
  const rounded = v >= 100 ? Math.round(v) : Math.round(v * 10) / 10;
  return `${sign}${rounded}${unit}`;
}

/** CPU cores for messages: `1.5`, `0.25`, `24`. */
export function formatCores(cores: number): string {
  return String(Math.round(cores * 1000) / 1000);
}
