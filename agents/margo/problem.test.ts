import { describe, expect, it } from 'vitest';
import { isProblem, parseRetryAfter, problemError, problemFrom } from './problem.js';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const body = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('MMI problems as the agent reads them', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120);
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30);
    expect(parseRetryAfter(new Date(NOW - 30_000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
    expect(parseRetryAfter(undefined, NOW)).toBeUndefined();
  });

  it('branches on the registered type, not the status code', () => {
    const p = problemFrom(
      403,
      {},
      body({
        type: 'https://docs.margo.org/specification/problem-types#not-authorized',
        title: 'Not authorized',
        status: 403,
        detail: 'revoked',
      }),
      NOW,
    );
    expect(p).toMatchObject({ status: 403, type: 'not-authorized', detail: 'revoked', retryable: false });
    expect(problemFrom(404, {}, body({ type: 'https://example.com/other' }), NOW).type).toBe('about:blank');
    expect(problemFrom(502, {}, Buffer.from('<html>bad gateway</html>'), NOW)).toMatchObject({
      type: 'about:blank',
      retryable: true,
    });
  });

  it('takes the longer of Retry-After and retryAfterSeconds; retryable as the body says', () => {
    const p = problemFrom(
      503,
      { 'retry-after': '5' },
      body({ type: 'about:blank', retryable: true, retryAfterSeconds: 9 }),
      NOW,
    );
    expect(p).toMatchObject({ retryable: true, retryAfterSeconds: 9 });
    expect(problemFrom(429, { 'retry-after': '7' }, Buffer.alloc(0), NOW)).toMatchObject({
      retryable: true,
      retryAfterSeconds: 7,
    });
    expect(problemFrom(500, {}, body({ retryable: false }), NOW).retryable).toBe(false);
  });

  it('wraps a problem into an error the agent recognises', () => {
    const e = problemError(
      'GET /api/v1/deployments',
      problemFrom(
        422,
        {},
        body({ type: 'https://docs.margo.org/specification/problem-types#semantic-error', detail: 'bad' }),
        NOW,
      ),
    );
    expect(isProblem(e)).toBe(true);
    expect(e.message).toBe('GET /api/v1/deployments: 422 semantic-error: bad');
    expect(isProblem(new Error('x'))).toBe(false);
  });
});
