import type { DeploymentTarget } from '../../../../lib/contract/index.js';
import { parseLabelText } from '../../../components/LabelChips.js';

/** The target as the operator builds it in the wizard. */
export interface TargetDraft {
  mode: 'site' | 'nodes';
  siteId: string;
  /** `key=value, key=value` (ANDed). */
  selector: string;
  replicas: 'all' | 'count';
  count: string;
  nodes: string[];
}

export const emptyTarget: TargetDraft = {
  mode: 'site',
  siteId: '',
  selector: '',
  replicas: 'all',
  count: '1',
  nodes: [],
};

/** The contract's target, or what is missing (in the words `edgectl co deploy` uses). */
export function targetOf(d: TargetDraft): { target: DeploymentTarget } | { error: string } {
  if (d.mode === 'nodes') {
    if (d.nodes.length === 0) return { error: 'choose at least one node' };
    return { target: { nodes: d.nodes } };
  }
  if (!d.siteId) return { error: 'choose a site' };
  const selector = parseLabelText(d.selector);
  let replicas: number | 'all' = 'all';
  if (d.replicas === 'count') {
    const n = Number(d.count.trim());
    if (!/^\d+$/.test(d.count.trim()) || !Number.isInteger(n) || n < 1)
      return { error: `replicas: "${d.count}" is not a positive whole number` };
    replicas = n;
  }
  return {
    target: {
      siteId: d.siteId,
      ...(Object.keys(selector).length ? { selector } : {}),
      replicas,
    },
  };
}
