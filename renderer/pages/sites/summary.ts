import type { Node } from '../../../core/contract/index.js';

/** `amd64 · 4 cpus · 8Gi` from what the node reported; empty when it reported nothing. */
export function capabilitiesSummary(n: Node): string {
  const p = n.capabilities?.properties;
  if (!p) return '';
  const cpus = p.cpus ?? [];
  const cores = cpus.reduce((s, c) => s + (c.cores ?? 0), 0);
  const archs = [...new Set(cpus.map((c) => c.architecture).filter(Boolean))];
  return [archs.join('/'), cores ? `${cores} cpu${cores === 1 ? '' : 's'}` : '', p.memory ?? '']
    .filter(Boolean)
    .join(' · ');
}
