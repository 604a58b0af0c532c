import { useEffect, useState } from 'react';
import type { QueryClient } from '@tanstack/react-query';
import type { ChangedEvent, Topic } from '../lib/contract/index.js';
import { apiTransport } from './api.js';

/** How long change events are gathered before the affected queries refetch (a burst costs one refetch). */
export const LIVE_COALESCE_MS = 500;

/**
 * Subscribes to the server's events and invalidates the queries whose topics changed (every query key
 * starts with its topic, see query-keys.ts): topics are gathered for a moment, and a refetch already in
 * flight is never cancelled (a large list that takes longer than the gap between events would otherwise
 * never finish).
 */
export function connectLiveUpdates(
  queryClient: QueryClient,
  onState: (s: 'live' | 'reconnecting') => void,
): () => void {
  let stop: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const pending = new Set<Topic>();
  let flushTimer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    flushTimer = undefined;
    for (const topic of pending)
      void queryClient.invalidateQueries({ queryKey: [topic] }, { cancelRefetch: false });
    pending.clear();
  };
  const open = () => {
    stop = apiTransport.subscribe?.(
      (e) => {
        onState('live');
        if (e.type === 'changed') {
          for (const topic of (e.data as ChangedEvent).topics) pending.add(topic);
          flushTimer ??= setTimeout(flush, LIVE_COALESCE_MS);
        } else if (e.type === 'job') {
          // A long job's progress carries its data: shown as it comes, no refetch.
          const job = e.data as { id: string };
          queryClient.setQueryData(['bundle-jobs', job.id], job);
        }
      },
      () => {
        onState('reconnecting');
        // A revoked or expired token ends the stream: ask again who is signed in (the console then
        // offers to sign in again instead of retrying forever).
        void queryClient.invalidateQueries({ queryKey: ['session'] });
        if (!closed) timer = setTimeout(open, 2000);
      },
    );
    onState('live');
  };
  open();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    if (flushTimer) clearTimeout(flushTimer);
    stop?.();
  };
}

/** Re-renders every `ms` so ages ("12s ago") stay true without refetching. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
