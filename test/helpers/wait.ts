import { inspect } from 'node:util';

/** What a condition gives back once it holds: its value without the falsy cases. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>;

export interface WaitOptions {
  /** What is awaited, for the timeout message (a function is read only when the wait fails). */
  what: string | (() => string);
  /** The deadline. Generous by default: tests run on a loaded 2-core machine. */
  timeoutMs?: number;
  /** Pause between two checks. */
  intervalMs?: number;
  /**
   * Checked before each round: a reason (a string) stops the wait at once with that reason, for a
   * condition that can no longer hold (the process that should get there has exited).
   */
  giveUpIf?: () => string | false | undefined | null;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_INTERVAL_MS = 25;

/**
 * Polls `cond` until it gives a truthy value, and returns that value. A condition that throws counts
 * as "not yet"; when the deadline passes, the error names `what` and the last error or value seen.
 * `options` may be just `what`.
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  options: WaitOptions | string,
): Promise<Truthy<T>> {
  const o = typeof options === 'string' ? { what: options } : options;
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = o.intervalMs ?? DEFAULT_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  const what = () => (typeof o.what === 'function' ? o.what() : o.what);
  let last: { error: unknown } | { value: unknown } | undefined;
  for (;;) {
    const reason = o.giveUpIf?.();
    if (reason) throw new Error(`gave up waiting for ${what()}: ${reason}`);
    try {
      const v = await cond();
      if (v) return v as Truthy<T>;
      last = { value: v };
    } catch (error) {
      last = { error };
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}${describe(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function describe(last: { error: unknown } | { value: unknown } | undefined): string {
  if (!last) return '';
  if ('error' in last) {
    const e = last.error;
    return `; last error: ${e instanceof Error ? e.message : inspect(e)}`;
  }
  // A plain "no" says nothing more than the timeout itself.
  if (last.value === false || last.value === undefined) return '';
  const shown = inspect(last.value, { depth: 2, breakLength: Infinity });
  return `; last value: ${shown.length > 300 ? `${shown.slice(0, 300)}...` : shown}`;
}
