/** Time is injected so tests can control it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Monotonic milliseconds (for durations, never for timestamps). */
  monotonic(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** A clock tests can move by hand. */
export function manualClock(
  start = Date.UTC(2026, 0, 1),
): Clock & { advance(ms: number): void; set(ms: number): void } {
  let t = start;
  let m = 0;
  return {
    now: () => t,
    monotonic: () => m,
    advance(ms: number) {
      t += ms;
      m += ms;
    },
    set(ms: number) {
      t = ms;
    },
  };
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
