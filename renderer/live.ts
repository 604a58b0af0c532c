import { useEffect, useState } from 'react';
import type { QueryClient } from '@tanstack/react-query';
import { apiTransport } from './api.js';

/** Subscribes to the server's events and invalidates the queries whose topics changed. */
export function connectLiveUpdates(
  queryClient: QueryClient,
  onState: (s: 'live' | 'reconnecting') => void,
): () => void {
  let stop: (() => void) | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  const open = () => {
    stop = apiTransport.subscribe?.(
      (e) => {
        onState('live');
        if (e.type === 'changed') {
          for (const topic of (e.data as { topics: string[] }).topics)
            void queryClient.invalidateQueries({ queryKey: [topic] });
        }
      },
      () => {
        onState('reconnecting');
        if (!closed) timer = setTimeout(open, 2000);
      },
    );
    onState('live');
  };
  open();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
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
