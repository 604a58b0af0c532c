import { describe, expect, it } from 'vitest';
import { backoffMs, inWindow, jittered, mayCommunicate } from './schedule.js';

// Local-time dates: 2026-01-02 is a Friday.
const at = (day: number, hh: number, mm = 0) => new Date(2026, 0, day, hh, mm);

describe('agent schedule', () => {
  it('tells whether a time is in a daily window, also across midnight and on given weekdays', () => {
    expect(inWindow({ start: '02:00', end: '04:00' }, at(2, 3))).toBe(true);
    expect(inWindow({ start: '02:00', end: '04:00' }, at(2, 4))).toBe(false);
    expect(inWindow({ start: '02:00', end: '04:00' }, at(2, 1, 59))).toBe(false);
    const night = { start: '22:00', end: '02:00' };
    expect(inWindow(night, at(2, 23))).toBe(true);
    expect(inWindow(night, at(3, 1))).toBe(true);
    expect(inWindow(night, at(3, 2))).toBe(false);
    // Friday night only: Saturday 01:00 belongs to Friday's window, Sunday 01:00 does not.
    const fri = { ...night, days: ['fri' as const] };
    expect(inWindow(fri, at(2, 22, 30))).toBe(true);
    expect(inWindow(fri, at(3, 1))).toBe(true);
    expect(inWindow(fri, at(3, 23))).toBe(false);
    expect(inWindow(fri, at(4, 1))).toBe(false);
  });

  it('communicates inside the active hours and outside every downtime', () => {
    const cfg = {
      activeHours: { start: '06:00', end: '20:00' },
      downtime: [{ start: '12:00', end: '13:00' }],
    };
    expect(mayCommunicate(cfg, at(2, 8))).toBe(true);
    expect(mayCommunicate(cfg, at(2, 12, 30))).toBe(false);
    expect(mayCommunicate(cfg, at(2, 21))).toBe(false);
    expect(mayCommunicate({ downtime: [] }, at(2, 3))).toBe(true);
  });

  it('jitters within the bounds and backs off exponentially up to a cap', () => {
    expect(jittered(1000, 0.1, () => 0)).toBe(900);
    expect(jittered(1000, 0.1, () => 0.999999)).toBe(1100);
    expect(jittered(1000, 0, () => 0.3)).toBe(1000);
    expect([0, 1, 2, 3, 4, 10].map((f) => backoffMs(f, 500, 3000))).toEqual([0, 500, 1000, 2000, 3000, 3000]);
  });
});
