import { describe, expect, it } from 'vitest';
import { waitFor } from './wait.js';

describe('waitFor', () => {
  it('returns the first truthy value the condition gives, after the falsy ones', async () => {
    const seen: unknown[] = [undefined, false, 0, '', null];
    let calls = 0;
    const v = await waitFor(() => (calls < seen.length ? seen[calls++] : { found: calls++ }), {
      what: 'the object',
      intervalMs: 1,
    });
    expect(v).toEqual({ found: 5 });
    expect(calls).toBe(6);
  });

  it('awaits async conditions and counts a throw as "not yet"', async () => {
    let calls = 0;
    const v = await waitFor(
      async () => {
        calls++;
        if (calls < 3) throw new Error('not listening yet');
        return 'up';
      },
      { what: 'the port', intervalMs: 1 },
    );
    expect(v).toBe('up');
    expect(calls).toBe(3);
  });

  it('names what it waited for and the last error when the deadline passes', async () => {
    const err = await waitFor(
      () => {
        throw new Error('connection refused');
      },
      { what: 'nats-server', timeoutMs: 30, intervalMs: 5 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      'timed out after 30 ms waiting for nats-server; last error: connection refused',
    );
  });

  it('shows the last value when it was more than a plain no, and reads a lazy `what` only on failure', async () => {
    let read = 0;
    const err = await waitFor(() => 0, {
      what: () => `three rows (read ${++read})`,
      timeoutMs: 20,
      intervalMs: 5,
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'timed out after 20 ms waiting for three rows (read 1); last value: 0',
    );
    const plain = await waitFor(() => false, { what: 'x', timeoutMs: 10, intervalMs: 5 }).catch(
      (e: unknown) => e,
    );
    expect((plain as Error).message).toBe('timed out after 10 ms waiting for x');
  });

  it('takes `what` alone as its options, and stops at once when giveUpIf gives a reason', async () => {
    expect(await waitFor(() => true, 'at once')).toBe(true);
    let calls = 0;
    const err = await waitFor(
      () => {
        calls++;
        return false;
      },
      {
        what: 'the server',
        giveUpIf: () => calls >= 2 && 'it exited (code 1)',
        timeoutMs: 60_000,
        intervalMs: 1,
      },
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('gave up waiting for the server: it exited (code 1)');
    expect(calls).toBe(2);
  });
});
