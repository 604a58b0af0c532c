import { describe, expect, it } from 'vitest';
import type { Node } from '../../../core/contract/index.js';
import { capabilitiesSummary } from './summary.js';

const withCaps = (capabilities: unknown) => ({ capabilities }) as unknown as Node;

describe('capabilitiesSummary', () => {
  it('sums cores over CPUs and lists each architecture once', () => {
    const n = withCaps({
      properties: {
        cpus: [
          { cores: 4, architecture: 'arm64' },
          { cores: 2, architecture: 'arm64' },
        ],
        memory: '8Gi',
      },
    });
    expect(capabilitiesSummary(n)).toBe('arm64 · 6 cpus · 8Gi');
  });
  it('leaves out what was not reported', () => {
    expect(capabilitiesSummary(withCaps({ properties: { memory: '512Mi' } }))).toBe('512Mi');
    expect(capabilitiesSummary(withCaps({ properties: { cpus: [{ cores: 1 }] } }))).toBe('1 cpu');
    expect(capabilitiesSummary(withCaps(null))).toBe('');
  });
});
