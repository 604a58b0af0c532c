import type { Capacity } from '../../../lib/contract/index.js';

/** `amd64 · 4 cpus · 8Gi` from the capacity the server derived from the node's report; empty for none. */
export function capacitySummary(c: Capacity | null): string {
  if (!c) return '';
  return [
    c.architectures.join('/'),
    c.cores ? `${c.cores} cpu${c.cores === 1 ? '' : 's'}` : '',
    c.memory ?? '',
  ]
    .filter(Boolean)
    .join(' · ');
}
