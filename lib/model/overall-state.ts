import type { DeploymentState } from './types.js';

const SEVERITY: Record<DeploymentState, number> = {
  failed: 5,
  removing: 4,
  installing: 3,
  pending: 2,
  installed: 1,
  removed: 0,
};

/**
 * The overall state of a deployment: the most severe component state, failed > removing > installing >
 * pending > installed (README section 1.4). `removed` is the overall state only when every component is
 * removed; next to other states a removed component means a removal in progress and counts as
 * `removing` (ADR 0104). Undefined for no components.
 */
export function overallState(
  states: readonly (DeploymentState | { state: DeploymentState })[],
): DeploymentState | undefined {
  if (states.length === 0) return undefined;
  const list = states.map((s) => (typeof s === 'string' ? s : s.state));
  if (list.every((s) => s === 'removed')) return 'removed';
  let worst: DeploymentState = 'installed';
  for (const s of list) {
    const eff = s === 'removed' ? 'removing' : s;
    if (SEVERITY[eff] > SEVERITY[worst]) worst = eff;
  }
  return worst;
}
