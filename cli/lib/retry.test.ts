import { describe, expect, it } from 'vitest';
import { withIdempotentRetry } from './retry.js';
import { contract, type CallOptions, type ClientTransport } from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';

/** A transport that fails the first calls as told and records what it was sent. */
function flaky(failures: unknown[]) {
  const calls: { channel: string; options: CallOptions | undefined }[] = [];
  const transport: ClientTransport = {
    async invoke(channel, _input, options) {
      calls.push({ channel, options });
      const f = failures.shift();
      if (f) throw f;
      return { ok: true };
    },
  };
  return { transport, calls };
}

const lost = () => new OutpostError('network-error', 'cannot reach the Outpost server: ECONNRESET');

describe('edgectl calls: idempotency keys and one retry', () => {
  it('gives each command of an invocation its own key, and reads none', async () => {
    const f = flaky([]);
    const t = withIdempotentRetry(f.transport, contract, { invocation: 'inv' });
    await t.invoke('deployments.create', {}, {});
    await t.invoke('deployments.list', {}, {});
    await t.invoke('deployments.remove', {}, { tenant: 'x' });
    expect(f.calls.map((c) => c.options?.idempotencyKey)).toEqual([
      'edgectl-inv-1',
      undefined,
      'edgectl-inv-2',
    ]);
    expect(f.calls[2]!.options?.tenant).toBe('x');
  });

  it('sends a call whose answer was lost once more, with the same key', async () => {
    const f = flaky([lost()]);
    const retried: string[] = [];
    const t = withIdempotentRetry(f.transport, contract, { onRetry: (c) => retried.push(c) });
    expect(await t.invoke('deployments.create', {}, {})).toEqual({ ok: true });
    expect(f.calls).toHaveLength(2);
    expect(f.calls[1]!.options?.idempotencyKey).toBe(f.calls[0]!.options?.idempotencyKey);
    expect(retried).toEqual(['deployments.create']);
  });

  it('retries only once, and never an answer of the server', async () => {
    const twice = flaky([lost(), lost()]);
    await expect(
      withIdempotentRetry(twice.transport, contract).invoke('deployments.create', {}, {}),
    ).rejects.toMatchObject({ code: 'network-error' });
    expect(twice.calls).toHaveLength(2);

    const refused = new OutpostError('not-placeable', 'no node fits');
    Object.defineProperty(refused, Symbol.for('outpost.answered-by-server'), { value: true });
    const answered = flaky([refused]);
    await expect(
      withIdempotentRetry(answered.transport, contract).invoke('deployments.create', {}, {}),
    ).rejects.toBe(refused);
    expect(answered.calls).toHaveLength(1);

    const cancelled = flaky([new OutpostError('cancelled', 'Ctrl-C')]);
    await expect(
      withIdempotentRetry(cancelled.transport, contract).invoke('deployments.create', {}, {}),
    ).rejects.toMatchObject({ code: 'cancelled' });
    expect(cancelled.calls).toHaveLength(1);
  });
});
