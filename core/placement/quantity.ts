/**
 * Byte quantities as Margo writes them: `1024Mi`, `10Gi`, and the spaced form the capability examples
 * use (`"59 Gi"`). Binary suffixes Ki..Ei are powers of 1024; decimal suffixes k/K, M, G, T, P, E are
 * powers of 1000 (Kubernetes convention); a trailing `B` (`64GiB`) and a bare number of bytes are
 * accepted too. Fractions are allowed (`1.5Gi`).
 *
 * Private to core/placement until core/margo exports its own `parseQuantity` (then dedupe).
 */

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  Pi: 1024 ** 5,
  Ei: 1024 ** 6,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([KMGTPE]i|[kKMGTPE])?B?\s*$/;

/** Bytes, or null when the text is not a quantity. */
export function parseByteQuantity(text: unknown): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : null;
  if (typeof text !== 'string') return null;
  const m = QUANTITY.exec(text);
  if (!m) return null;
  const value = Number(m[1]);
  const unit = UNITS[m[2] ?? ''];
  if (unit === undefined || !Number.isFinite(value)) return null;
  return value * unit;
}

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
