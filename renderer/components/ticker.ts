import { useSyncExternalStore } from 'react';

/**
 * One clock for every age on screen: a single interval while anything listens, so the ages of a
 * hundred table cells advance in one render per second rather than a hundred; it stops while the
 * window is hidden and catches up when it shows again.
 */
const listeners = new Set<() => void>();
let now = Date.now();
let timer: ReturnType<typeof setInterval> | undefined;

function tick(): void {
  if (typeof document !== 'undefined' && document.hidden) return;
  now = Date.now();
  for (const l of listeners) l();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (!timer) {
    now = Date.now();
    timer = setInterval(tick, 1000);
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', tick);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
      if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', tick);
    }
  };
}

/** The current time, advancing once a second, shared by every caller. */
export function useTick(): number {
  return useSyncExternalStore(subscribe, () => now);
}
