import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { lastSeenAge, presenceNow, type PresenceReport } from './presence.js';

const report: PresenceReport = {
  serverNow: 1_000_000,
  receivedAt: 5_000,
  staleAfterSeconds: 30,
  offlineAfterSeconds: 90,
};

describe('presenceNow', () => {
  it('keeps the server answer while it is fresh', () => {
    expect(presenceNow('online', report.serverNow - 1000, report, report.receivedAt + 1000)).toBe('online');
  });

  it('shows an online node stale, then offline, as the answer grows old', () => {
    const seen = report.serverNow - 10_000;
    expect(presenceNow('online', seen, report, report.receivedAt + 19_999)).toBe('online');
    expect(presenceNow('online', seen, report, report.receivedAt + 20_000)).toBe('stale');
    expect(presenceNow('online', seen, report, report.receivedAt + 80_000)).toBe('offline');
    expect(presenceNow('stale', seen, report, report.receivedAt + 80_000)).toBe('offline');
  });

  it('leaves a never-seen node unknown', () => {
    expect(presenceNow('unknown', null, report, report.receivedAt + 1e9)).toBe('unknown');
    expect(lastSeenAge(null, report, report.receivedAt)).toBeNull();
  });

  it('measures the age on the server clock, whatever the browser clock says', () => {
    expect(lastSeenAge(report.serverNow - 12_000, report, report.receivedAt + 3_000)).toBe(15_000);
    // A browser clock that went backwards does not make the node younger than the server said.
    expect(lastSeenAge(report.serverNow - 12_000, report, report.receivedAt - 50_000)).toBe(12_000);
  });

  it('never shows online what the server did not call online', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('online', 'stale', 'offline', 'unknown' as const),
        fc.option(fc.integer({ min: 0, max: 2_000_000 }), { nil: null }),
        fc.integer({ min: -100_000, max: 1_000_000 }),
        (p, seen, elapsed) => {
          const shown = presenceNow(p, seen, report, report.receivedAt + elapsed);
          if (p !== 'online') expect(shown).not.toBe('online');
          const rank = { online: 0, stale: 1, offline: 2, unknown: 3 } as const;
          // Only ever a downgrade (or the same).
          if (p !== 'unknown') expect(rank[shown]).toBeGreaterThanOrEqual(rank[p]);
          else expect(shown).toBe('unknown');
        },
      ),
    );
  });
});
