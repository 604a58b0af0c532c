// The preload exposes only the contract bridge (contextIsolation on, sandbox on, no nodeIntegration).
import { contextBridge, ipcRenderer } from 'electron';
import { IPC_EVENT, IPC_INVOKE, type OutpostBridge } from '../lib/contract/index.js';

const bridge: OutpostBridge = {
  invoke: (channel, input, tenant, idempotencyKey) =>
    ipcRenderer.invoke(IPC_INVOKE, channel, input, tenant, idempotencyKey),
  onEvent(listener) {
    const wrapped = (_e: unknown, env: Parameters<typeof listener>[0]) => listener(env);
    ipcRenderer.on(IPC_EVENT, wrapped);
    return () => ipcRenderer.removeListener(IPC_EVENT, wrapped);
  },
};

contextBridge.exposeInMainWorld('outpost', bridge);
