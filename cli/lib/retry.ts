import crypto from 'node:crypto';
import {
  type ClientTransport,
  type ContractDef,
  listMethods,
  isServerAnswer,
} from '../../lib/contract/index.js';
import { isOutpostError } from '../../lib/errors/index.js';

/**
 * Every state-changing call of one edgectl invocation carries its own Idempotency-Key
 * (`<invocation>-<n>`), and a call whose answer was lost (the connection broke or timed out after the
 * request went out) is sent once more with the same key: the server then answers from the first call
 * instead of making the change twice (ADR 0480). Reads are retried once as well; they change nothing.
 */
export function withIdempotentRetry(
  transport: ClientTransport,
  /** The contract, or the channels of its commands (COMMAND_CHANNELS: no schemas loaded). */
  contract: ContractDef | readonly string[],
  options: { invocation?: string; onRetry?: (channel: string, err: unknown) => void } = {},
): ClientTransport {
  const commands = new Set(
    Array.isArray(contract)
      ? contract
      : listMethods(contract as ContractDef)
          .filter((m) => m.def.kind === 'command')
          .map((m) => m.channel),
  );
  const invocation = options.invocation ?? crypto.randomUUID();
  let n = 0;
  return {
    ...transport,
    async invoke(channel, input, callOptions) {
      const opts =
        commands.has(channel) && !callOptions?.idempotencyKey
          ? { ...callOptions, idempotencyKey: `edgectl-${invocation}-${++n}` }
          : callOptions;
      try {
        return await transport.invoke(channel, input, opts);
      } catch (err) {
        if (!answerLost(err)) throw err;
        options.onRetry?.(channel, err);
        return transport.invoke(channel, input, opts);
      }
    },
  };
}

/** The request may have reached the server, but no answer came back (not a refusal, not Ctrl-C). */
function answerLost(err: unknown): boolean {
  if (isServerAnswer(err)) return false;
  return isOutpostError(err, 'network-error') || isOutpostError(err, 'timeout');
}
