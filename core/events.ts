import type { EventEnvelope, EventPayloads, Events, Topic } from '../lib/contract/index.js';
import type { Clock } from '../lib/base/index.js';

/** Any console event, discriminated by `type` (so `e.type === 'changed'` narrows `e.data`). */
export type AnyEvent = { [K in keyof Events & string]: EventEnvelope<Events, K> }[keyof Events & string];

/** In-process publish/subscribe for console events. Binders forward them (SSE, IPC). */
export interface EventHub {
  publish<K extends keyof Events & string>(
    type: K,
    data: EventPayloads<Events>[K],
    tenantId: string | null,
  ): void;
  /** Shorthand for `changed` events: the data of these topics (lib/contract/events.ts) went stale. */
  changed(tenantId: string | null, ...topics: Topic[]): void;
  subscribe(listener: (e: AnyEvent) => void): () => void;
  readonly listenerCount: number;
}

export function createEventHub(clock: Clock): EventHub {
  const listeners = new Set<(e: AnyEvent) => void>();
  const hub: EventHub = {
    publish(type, data, tenantId) {
      const env = { type, data, tenantId, at: clock.now() } as AnyEvent;
      for (const l of listeners) {
        try {
          l(env);
        } catch {
          /* a broken listener must not break publishers */
        }
      }
    },
    changed(tenantId, ...topics) {
      hub.publish('changed', { topics }, tenantId);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get listenerCount() {
      return listeners.size;
    },
  };
  return hub;
}
