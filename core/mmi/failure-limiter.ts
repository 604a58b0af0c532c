/**
 * Counts failures per key (the remote address of enrollment attempts) in a fixed window, so a peer that keeps
 * presenting bad tokens is answered 429 with a Retry-After instead of costing a CSR parse and a database
 * lookup each time. Successful calls do not count. Memory is bounded: expired windows are dropped, and
 * when `maxKeys` distinct keys are tracked the oldest window is evicted.
 */
export interface FailureLimiter {
  /** Seconds the key must wait before it may try again; 0 when it may try now. */
  blockedFor(key: string): number;
  /** Records one failure for the key. */
  fail(key: string): void;
}

export interface FailureLimiterOptions {
  /** Failures allowed per window before the key is blocked until the window ends. */
  max: number;
  windowMs: number;
  /** Monotonic milliseconds. */
  now: () => number;
  maxKeys?: number;
}

export function createFailureLimiter(options: FailureLimiterOptions): FailureLimiter {
  const { max, windowMs, now } = options;
  const maxKeys = options.maxKeys ?? 10_000;
  const windows = new Map<string, { count: number; resetAt: number }>();

  function current(key: string): { count: number; resetAt: number } | undefined {
    const w = windows.get(key);
    if (w !== undefined && now() >= w.resetAt) {
      windows.delete(key);
      return undefined;
    }
    return w;
  }

  return {
    blockedFor(key) {
      const w = current(key);
      if (w === undefined || w.count < max) return 0;
      return Math.max(1, Math.ceil((w.resetAt - now()) / 1000));
    },
    fail(key) {
      const w = current(key);
      if (w !== undefined) {
        w.count++;
        return;
      }
      if (windows.size >= maxKeys) {
        const oldest = windows.keys().next().value;
        if (oldest !== undefined) windows.delete(oldest);
      }
      windows.set(key, { count: 1, resetAt: now() + windowMs });
    },
  };
}
