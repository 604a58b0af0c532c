import { describe, expect, it } from 'vitest';
import { classifyPresence, worseState } from './presence.js';

const t = { staleAfterSeconds: 30, offlineAfterSeconds: 90 };

describe('presence classification', () => {
  it('uses the configured thresholds and never calls a node without heartbeats healthy', () => {
    const now = 1_000_000;
    expect(classifyPresence(null, now, t)).toBe('unknown');
    expect(classifyPresence(now, now, t)).toBe('online');
    expect(classifyPresence(now - 29_999, now, t)).toBe('online');
    expect(classifyPresence(now - 30_000, now, t)).toBe('stale');
    expect(classifyPresence(now - 89_999, now, t)).toBe('stale');
    expect(classifyPresence(now - 90_000, now, t)).toBe('offline');
  });

  it('takes the worse of a reported state and the age', () => {
    expect(worseState('online', 'stale')).toBe('stale');
    expect(worseState('offline', 'online')).toBe('offline');
    expect(worseState('unknown', 'offline')).toBe('unknown');
  });
});
