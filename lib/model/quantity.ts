import { OutpostError } from '../errors/index.js';

/**
 * Memory and storage quantities (README sections 1.1 and 1.5) in bytes. Binary units Ki, Mi, Gi, Ti, Pi,
 * Ei; decimal units k, M, G, T, P, E; plain numbers are bytes. A space before the unit is accepted
 * (`"59 Gi"`, as device capabilities write it), and so is a fraction (`1.5Gi`, rounded up to a byte).
 */

const UNITS: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^(\d+(?:\.\d+)?|\.\d+)\s*(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/;

export function parseQuantity(s: string): number {
  const m = typeof s === 'string' ? QUANTITY.exec(s.trim()) : null;
  if (!m) {
    throw new OutpostError(
      'invalid-input',
      `invalid quantity ${JSON.stringify(s)}: expected a number with an optional unit (Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E), e.g. 512Mi`,
    );
  }
  return Math.ceil(Number(m[1]) * UNITS[m[2] ?? '']!);
}

/**
 * Bytes from a quantity or a non-negative number of bytes, null when it is neither: the same grammar as
 * parseQuantity, for callers (placement) that read values which may already be numbers.
 */
export function parseByteQuantity(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : null;
  return tryParseQuantity(value) ?? null;
}

/** Like parseQuantity, but undefined instead of an error. */
export function tryParseQuantity(s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined;
  try {
    return parseQuantity(s);
  } catch {
    return undefined;
  }
}
