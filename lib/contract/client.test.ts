import { describe, expect, it } from 'vitest';
import { createChannelClient, type ClientTransport } from './client.js';
import type { CallOptions } from './define.js';
import type { Contract } from './index.js';

describe('createChannelClient', () => {
  it('calls <service>.<method> with the input and the defaults merged into the options', async () => {
    const calls: [string, unknown, CallOptions | undefined][] = [];
    const transport: ClientTransport = {
      invoke: (channel, input, options) => {
        calls.push([channel, input, options]);
        return Promise.resolve({ channel });
      },
    };
    const client = createChannelClient<Contract>(transport, { tenant: 'acme' });
    await expect(client.system.status({})).resolves.toEqual({ channel: 'system.status' });
    await client.apps.list();
    const signal = new AbortController().signal;
    await client.nodes.list({}, { signal });
    expect(calls).toEqual([
      ['system.status', {}, { tenant: 'acme' }],
      ['apps.list', {}, { tenant: 'acme' }],
      ['nodes.list', {}, { signal, tenant: 'acme' }],
    ]);
    // The same function each time (a service and its methods are made once).
    expect(client.apps.list).toBe(client.apps.list);
  });

  it('is not mistaken for a promise', async () => {
    const client = createChannelClient<Contract>({ invoke: () => Promise.resolve(null) });
    await expect(Promise.resolve(client)).resolves.toBe(client);
  });
});

describe('COMMAND_CHANNELS', () => {
  it('names exactly the commands of the contract', async () => {
    const { COMMAND_CHANNELS, contract, listMethods } = await import('./index.js');
    const commands = listMethods(contract)
      .filter((m) => m.def.kind === 'command')
      .map((m) => m.channel)
      .sort();
    expect([...COMMAND_CHANNELS].sort()).toEqual(commands);
  });
});
