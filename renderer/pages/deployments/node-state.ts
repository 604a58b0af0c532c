import type { DeploymentNode } from '../../../lib/contract/index.js';

export type StateColor = 'success' | 'info' | 'warning' | 'error' | 'default';

/** How one node's state is shown: the label, its colour, and whether the state may be out of date. */
export interface NodeStateDisplay {
  label: string;
  color: StateColor;
  /** Green: installed, for the revision the node must run now, by a node heard from recently. */
  healthy: boolean;
  /** The node has not been heard from recently: shown with an amber "stale" chip beside its state. */
  stale: boolean;
  /** One line for a tooltip: why the state looks as it does. */
  hint: string;
}

const COLORS: Record<DeploymentNode['state'], StateColor> = {
  pending: 'default',
  installing: 'info',
  installed: 'success',
  failed: 'error',
  removing: 'info',
  removed: 'default',
};

/**
 * The state to show for a node of a deployment (ADR 0280). Green only for `installed` AND `current`
 * AND not `stale`: a report about an older revision is shown as still installing (as the CLI and the
 * server's counts do), and a node not heard from lately keeps its last state, never green, beside a
 * "stale" chip.
 */
export function nodeStateDisplay(n: DeploymentNode): NodeStateDisplay {
  const olderRevision = n.state === 'installed' && !n.current && n.desired === 'present';
  const label = olderRevision ? 'installing' : n.state;
  let color: StateColor = olderRevision ? 'info' : COLORS[n.state];
  if (color === 'success' && (n.stale || !n.current)) color = 'default';
  const hint = [
    olderRevision
      ? 'the last report is about an older revision'
      : n.stateAt === null
        ? 'no report yet'
        : `last reported ${n.state}`,
    n.stale ? `the node is ${n.presence}: this state may be out of date` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { label, color, healthy: color === 'success', stale: n.stale, hint };
}

/** The server's clock when it answered and the browser's when the answer arrived. */
export interface ServerTime {
  serverNow: number;
  receivedAt: number;
}

/**
 * Milliseconds since `at` (a server timestamp), measured on the server's clock and advanced by the
 * time that has passed in the browser since the answer arrived: skew between the clocks does not
 * matter, and a browser clock that goes backwards never makes a report younger. `null` for never.
 */
export function ageOf(at: number | null, t: ServerTime, browserNow: number): number | null {
  if (at === null) return null;
  return Math.max(0, t.serverNow - at) + Math.max(0, browserNow - t.receivedAt);
}

/** Sort order of states: trouble first. */
export const STATE_ORDER: Record<string, number> = {
  failed: 0,
  pending: 1,
  installing: 2,
  removing: 3,
  installed: 4,
  removed: 5,
};
