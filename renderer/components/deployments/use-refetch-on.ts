import { useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';

/**
 * Refetches the query `target` when the server announces a change of `topic` as well (a deployment's
 * view also changes when its nodes' presence does). The live connection invalidates queries by their
 * first key element, the topic; this registers a small watcher under that topic which, when
 * invalidated (not on its first run), invalidates the target.
 */
export function useRefetchOn(topic: string, target: QueryKey, enabled = true): void {
  const qc = useQueryClient();
  const key = [topic, 'watch', ...target];
  useQuery({
    queryKey: key,
    enabled,
    staleTime: Infinity,
    queryFn: async () => {
      if (qc.getQueryData(key) !== undefined) await qc.invalidateQueries({ queryKey: target, exact: true });
      return Date.now();
    },
  });
}
