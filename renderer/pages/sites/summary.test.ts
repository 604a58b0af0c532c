import { describe, expect, it } from 'vitest';
import { capacitySummary } from './summary.js';

describe('capacitySummary', () => {
  it('shows architectures, cores and memory as the server summed them', () => {
    expect(capacitySummary({ architectures: ['arm64'], cores: 6, memory: '8Gi', storage: null })).toBe(
      'arm64 · 6 cpus · 8Gi',
    );
  });
  it('leaves out what was not reported', () => {
    expect(capacitySummary({ architectures: [], cores: 0, memory: '512Mi', storage: null })).toBe('512Mi');
    expect(capacitySummary({ architectures: [], cores: 1, memory: null, storage: null })).toBe('1 cpu');
    expect(capacitySummary(null)).toBe('');
  });
});
