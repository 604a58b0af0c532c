import { describe, expect, it } from 'vitest';
import { emptyTarget, targetOf } from './target.js';

describe('targetOf', () => {
  it('builds a site target with a selector and every eligible node by default', () => {
    expect(targetOf({ ...emptyTarget, siteId: 'plant-1', selector: 'tier=gold, zone = a' })).toEqual({
      target: { siteId: 'plant-1', selector: { tier: 'gold', zone: 'a' }, replicas: 'all' },
    });
  });
  it('takes a positive whole number of replicas only', () => {
    expect(targetOf({ ...emptyTarget, siteId: 's', replicas: 'count', count: '3' })).toEqual({
      target: { siteId: 's', replicas: 3 },
    });
    for (const count of ['0', '-1', '1.5', 'two', ''])
      expect(targetOf({ ...emptyTarget, siteId: 's', replicas: 'count', count })).toHaveProperty('error');
  });
  it('names what is missing', () => {
    expect(targetOf(emptyTarget)).toEqual({ error: 'choose a site' });
    expect(targetOf({ ...emptyTarget, mode: 'nodes' })).toEqual({ error: 'choose at least one node' });
    expect(targetOf({ ...emptyTarget, mode: 'nodes', nodes: ['a', 'b'] })).toEqual({
      target: { nodes: ['a', 'b'] },
    });
  });
});
