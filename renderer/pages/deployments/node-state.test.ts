import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DeploymentNode } from '../../../lib/contract/index.js';
import { ageOf, nodeStateDisplay } from './node-state.js';

const node = (over: Partial<DeploymentNode>): DeploymentNode => ({
  nodeUid: 'default.n1',
  nodeName: 'n1',
  siteId: 's',
  desired: 'present',
  version: '1.0.0',
  state: 'installed',
  stateAt: 1000,
  receivedAt: 1000,
  current: true,
  presence: 'online',
  lastSeenAt: 1000,
  stale: false,
  error: null,
  components: [],
  ...over,
});

describe('nodeStateDisplay', () => {
  it('is green for an installed, current, fresh node', () => {
    expect(nodeStateDisplay(node({}))).toMatchObject({ label: 'installed', color: 'success', healthy: true });
  });

  it('keeps the last state of a stale node but never shows it green', () => {
    const d = nodeStateDisplay(node({ stale: true, presence: 'offline' }));
    expect(d).toMatchObject({ label: 'installed', color: 'default', healthy: false, stale: true });
    expect(d.hint).toContain('offline');
  });

  it('shows a report about an older revision as installing', () => {
    expect(nodeStateDisplay(node({ current: false }))).toMatchObject({
      label: 'installing',
      color: 'info',
      healthy: false,
    });
  });

  it('is green only for installed AND current AND not stale', () => {
    const states = ['pending', 'installing', 'installed', 'failed', 'removing', 'removed'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...states),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('present', 'absent' as const),
        fc.option(fc.integer({ min: 0 }), { nil: null }),
        (state, current, stale, desired, stateAt) => {
          const d = nodeStateDisplay(node({ state, current, stale, desired, stateAt }));
          expect(d.healthy).toBe(state === 'installed' && current && !stale);
          expect(d.color === 'success').toBe(d.healthy);
          expect(d.stale).toBe(stale);
        },
      ),
    );
  });
});

describe('ageOf', () => {
  const t = { serverNow: 100_000, receivedAt: 5_000 };
  it('measures on the server clock, advanced by the time passed in the browser', () => {
    expect(ageOf(88_000, t, 8_000)).toBe(15_000);
    expect(ageOf(null, t, 8_000)).toBeNull();
  });
  it('never makes a report younger when the browser clock goes backwards', () => {
    expect(ageOf(88_000, t, 1_000)).toBe(12_000);
  });
});
