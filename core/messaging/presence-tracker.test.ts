import { describe, expect, it } from 'vitest';
import { worsePresence } from '../../lib/model/index.js';
import { classifyBySeconds } from './presence-tracker.js';

const t = { staleAfterSeconds: 30, offlineAfterSeconds: 90 };

describe('presence classification', () => {
  it('uses the configured thresholds and never calls a node without heartbeats healthy', () => {
    const now = 1_000_000;
    expect(classifyBySeconds(null, now, t)).toBe('unknown');
    expect(classifyBySeconds(now, now, t)).toBe('online');
    expect(classifyBySeconds(now - 29_999, now, t)).toBe('online');
    expect(classifyBySeconds(now - 30_000, now, t)).toBe('stale');
    expect(classifyBySeconds(now - 89_999, now, t)).toBe('stale');
    expect(classifyBySeconds(now - 90_000, now, t)).toBe('offline');
  });

  it('takes the worse of a reported state and the age', () => {
    expect(worsePresence('online', 'stale')).toBe('stale');
    expect(worsePresence('offline', 'online')).toBe('offline');
    expect(worsePresence('unknown', 'offline')).toBe('unknown');
  });
});
