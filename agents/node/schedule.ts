import { WEEKDAYS, type TimeWindow } from './config.js';

/**
 * When the agent talks to the LO (Margo's client settings, the Margo specification): a polling
 * interval rate, a polling interval period (active hours) and downtime windows in which the client
 * neither polls nor retries and ignores communication errors. Times are the host's local time.
 */

const minutes = (hhmm: string): number => {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
};

/**
 * Whether `at` lies in the window. A window whose end is before its start wraps past midnight; its
 * `days` name the weekday on which it starts (`22:00-02:00` on `fri` covers Saturday 01:00).
 */
export function inWindow(w: TimeWindow, at: Date): boolean {
  const start = minutes(w.start);
  const end = minutes(w.end);
  const now = at.getHours() * 60 + at.getMinutes();
  const today = WEEKDAYS[at.getDay()]!;
  const yesterday = WEEKDAYS[(at.getDay() + 6) % 7]!;
  const dayOk = (d: string) => !w.days || w.days.includes(d as never);
  if (start < end) return now >= start && now < end && dayOk(today);
  // Wraps: the evening part belongs to today, the morning part to yesterday's window.
  return (now >= start && dayOk(today)) || (now < end && dayOk(yesterday));
}

export function inDowntime(windows: readonly TimeWindow[], at: Date): boolean {
  return windows.some((w) => inWindow(w, at));
}

/** Whether the agent may talk to the LO now: inside the active hours (if set) and outside every downtime. */
export function mayCommunicate(
  cfg: { activeHours?: TimeWindow; downtime: readonly TimeWindow[] },
  at: Date,
): boolean {
  if (cfg.activeHours && !inWindow(cfg.activeHours, at)) return false;
  return !inDowntime(cfg.downtime, at);
}

/** `base` randomised by +- `jitter` (a fraction), never below zero. `random` in [0, 1). */
export function jittered(baseMs: number, jitter: number, random: () => number = Math.random): number {
  return Math.max(0, Math.round(baseMs * (1 - jitter + 2 * jitter * random())));
}

/** Exponential backoff: `first * 2^(failures-1)` capped at `max`; 0 failures means no wait. */
export function backoffMs(failures: number, firstMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, firstMs * 2 ** Math.min(failures - 1, 30));
}
