import { describe, expect, it } from 'vitest';
import { exitCodeFor } from './action.js';
import { OutpostError } from '../../lib/errors/index.js';
import { createHttpTransport } from '../../lib/contract/index.js';

async function failure(fetchImpl: typeof fetch): Promise<unknown> {
  const t = createHttpTransport({ baseUrl: 'http://127.0.0.1:1', fetch: fetchImpl });
  return t.invoke('apps.add', {}).then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  );
}

describe('exitCodeFor', () => {
  it('is 3 when the server cannot be reached', async () => {
    const err = await failure(() => Promise.reject(new TypeError('fetch failed')));
    expect((err as OutpostError).code).toBe('network-error');
    expect(exitCodeFor(err)).toBe(3);
    expect(exitCodeFor(new OutpostError('server-not-running', 'no server'))).toBe(3);
    // a local failure to reach another server (the LO, a registry) too
    expect(exitCodeFor(new OutpostError('network-error', 'cannot reach the LO'))).toBe(3);
  });

  it('is 1 when the server answers that it could not reach something else', async () => {
    const problem = new OutpostError(
      'network-error',
      'cannot reach http://git.example/x.git: host not found',
    );
    const err = await failure(() =>
      Promise.resolve(
        new Response(JSON.stringify(problem.toProblem()), {
          status: 502,
          headers: { 'content-type': 'application/problem+json' },
        }),
      ),
    );
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('network-error');
    expect((err as OutpostError).message).toBe(problem.message);
    expect(exitCodeFor(err)).toBe(1);
  });

  it.each([
    ['invalid-input', 2],
    ['invalid-config', 2],
    ['unauthorized', 4],
    ['forbidden', 4],
    ['not-found', 5],
    ['margo/not-found', 5],
    ['not-placeable', 6],
    ['deployment-failed', 6],
    ['conflict', 1],
    ['cancelled', 130],
  ])('maps %s to %i', (code, exit) => {
    expect(exitCodeFor(new OutpostError(code, 'x'))).toBe(exit);
  });

  it('is 1 for anything that is not an OutpostError', () => {
    expect(exitCodeFor(new Error('boom'))).toBe(1);
  });

  it('is 2 for bad input, a refused margo.yaml or device model file included', () => {
    for (const code of [
      'invalid-input',
      'invalid-config',
      'margo/invalid-description',
      'margo/invalid-request',
    ])
      expect(exitCodeFor(new OutpostError(code, 'bad'))).toBe(2);
    expect(exitCodeFor(new OutpostError('conflict', 'no'))).toBe(1);
  });
});
