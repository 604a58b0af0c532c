import type { AgentModuleName } from './config.js';

/**
 * One part of the running agent (ADR 0270), as `createCore` composes the control plane of modules:
 * `startAgent()` (agent.ts) builds the shared parts (identity, MMI session, state, outbox queue, runtimes,
 * reconciler), then the modules agent.yaml enables (`modules.<name>`), starts them in order and stops
 * them in reverse. A module owns its loops and timers; what it needs comes in as arguments, what other
 * modules may call it returns (the polling module's `pollNow()`).
 */
export interface AgentModule {
  readonly name: AgentModuleName;
  /** Starts its loops; returns once it is running (never waits for the LO). */
  start(): void | Promise<void>;
  /** Ends its loops and waits for the work in flight; the workloads keep running. */
  stop(): Promise<void>;
}

/** A module's timers: `clear()` cancels all of them (at stop). */
export interface Timers {
  later(fn: () => void, delayMs: number): NodeJS.Timeout;
  cancel(t: NodeJS.Timeout | undefined): void;
  clear(): void;
}

export function createTimers(): Timers {
  const live = new Set<NodeJS.Timeout>();
  return {
    later(fn, delayMs) {
      const t = setTimeout(() => {
        live.delete(t);
        fn();
      }, delayMs);
      live.add(t);
      return t;
    },
    cancel(t) {
      if (!t) return;
      clearTimeout(t);
      live.delete(t);
    },
    clear() {
      for (const t of live) clearTimeout(t);
      live.clear();
    },
  };
}
