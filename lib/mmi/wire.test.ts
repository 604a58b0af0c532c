import { describe, expect, it } from 'vitest';
import { reportEventTime } from './index.js';

describe('reportEventTime (ADR 0169)', () => {
  const received = 1_000_000_000;
  it("dates a report on the receiver's clock by how long it waited at the sender", () => {
    // The node's clock is 1 h behind; the report waited 63 s in its outbox.
    const skew = -3_600_000;
    expect(reportEventTime(received, received + skew - 63_000, received + skew)).toBe(received - 63_000);
  });
  it('never dates a report in the future, and says nothing without an event time', () => {
    expect(reportEventTime(received, received + 5_000, received)).toBe(received);
    expect(reportEventTime(received, received + 5_000)).toBe(received);
    expect(reportEventTime(received, received - 7_000)).toBe(received - 7_000);
    expect(reportEventTime(received)).toBeNull();
    expect(reportEventTime(received, Number.NaN, received)).toBeNull();
  });
});
