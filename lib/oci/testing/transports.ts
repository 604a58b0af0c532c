import type { RegistryClientOptions } from '../registry-client.js';

/**
 * The two HTTP stacks of the registry client, for `describe.each`: fetch on undici (the default, the
 * server's) and node:http/https (`http: 'node'`, the edge agent's, ADR 0543). `key` names what a case
 * pushes, so the two runs do not share repositories.
 */
export const TRANSPORTS: { transport: string; key: string; http: RegistryClientOptions['http'] }[] = [
  { transport: 'fetch (undici)', key: 'undici', http: undefined },
  { transport: "node:http (http: 'node')", key: 'node', http: 'node' },
];
