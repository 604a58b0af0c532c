import { describe, expect, it } from 'vitest';
import { classifyPresence } from './presence.js';

describe('classifyPresence', () => {
  const t = { staleAfterMs: 30_000, offlineAfterMs: 90_000 };
  it.each([
    [null, 'unknown'],
    [1_000_000, 'online'],
    [1_000_000 - 29_999, 'online'],
    [1_000_000 - 30_000, 'stale'],
    [1_000_000 - 89_999, 'stale'],
    [1_000_000 - 90_000, 'offline'],
    [0, 'offline'],
  ] as const)('last seen %s -> %s', (seen, want) => {
    expect(classifyPresence(seen, 1_000_000, t)).toBe(want);
  });
});
