import { useRef } from 'react';
import { useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';
import type { Topic } from '../../../lib/contract/index.js';
import type { ConsoleQueryKey } from '../../query-keys.js';

/**
 * Refetches the query `target` when the server announces a change of `topic` as well (a deployment's
 * view also changes when its nodes' presence does). The live connection invalidates queries by their
 * first key element, the topic; this registers a small watcher under that topic which, when
 * invalidated (not on its first run), invalidates the target.
 *
 * A fetch in flight is never restarted (a big deployment can take seconds to answer, and presence
 * changes arrive often in a big fleet: restarting would starve it), and the target is asked again at
 * most once per `minIntervalMs`.
 */
export function useRefetchOn(topic: Topic, target: QueryKey, enabled = true, minIntervalMs = 3000): void {
  const qc = useQueryClient();
  const key: ConsoleQueryKey = [topic, 'watch', ...target];
  const pending = useRef(false);
  useQuery({
    queryKey: key,
    enabled,
    staleTime: Infinity,
    queryFn: () => {
      if (qc.getQueryData(key) !== undefined && !pending.current) {
        const since = Date.now() - (qc.getQueryState(target)?.dataUpdatedAt ?? 0);
        pending.current = true;
        setTimeout(
          () => {
            pending.current = false;
            void qc.invalidateQueries({ queryKey: target, exact: true }, { cancelRefetch: false });
          },
          Math.max(0, minIntervalMs - since),
        );
      }
      return Date.now();
    },
  });
}

/**
 * A refetch interval that grows with the time the server takes to answer: 15 s, or ten times the last
 * answer's time if that is longer (a 10,000-node deployment must not keep the server busy).
 */
export function useAdaptiveInterval(): {
  timed: <T>(fn: () => Promise<T>) => Promise<T>;
  interval: () => number;
} {
  const last = useRef(0);
  return {
    timed: async (fn) => {
      const t = performance.now();
      const r = await fn();
      last.current = performance.now() - t;
      return r;
    },
    interval: () => Math.max(15_000, 10 * last.current),
  };
}
