import { OutpostError } from '../errors/index.js';
import type { CallOptions, EventEnvelope } from './define.js';
import type { ClientTransport } from './client.js';

/**
 * The bridge the Electron preload exposes on `window.outpost` (contextBridge). Only these two
 * functions cross into the renderer: no Node, no ipcRenderer.
 */
export interface OutpostBridge {
  invoke(channel: string, input: unknown, tenant?: string, idempotencyKey?: string): Promise<IpcResult>;
  onEvent(listener: (event: EventEnvelope) => void): () => void;
}

export type IpcResult = { ok: true; value: unknown } | { ok: false; problem: unknown };

export const IPC_INVOKE = 'outpost:invoke';
export const IPC_EVENT = 'outpost:event';

export function createIpcTransport(bridge: OutpostBridge): ClientTransport {
  return {
    async invoke(channel: string, input: unknown, options?: CallOptions) {
      const r = await bridge.invoke(channel, input, options?.tenant, options?.idempotencyKey);
      if (r.ok) return r.value;
      throw OutpostError.fromProblem(r.problem);
    },
    subscribe(onEvent) {
      return bridge.onEvent(onEvent);
    },
  };
}
