import type { Core } from '../create-core.js';
import { type Principal, IPC_EVENT, IPC_INVOKE, type IpcResult } from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';

/**
 * The Electron IPC binder, written against the small part of Electron it needs so the core never
 * imports Electron (and this binder runs under Node in tests).
 */
export interface IpcMainLike {
  handle(
    channel: string,
    listener: (event: IpcInvokeEventLike, ...args: unknown[]) => Promise<unknown>,
  ): void;
  removeHandler(channel: string): void;
}
export interface IpcInvokeEventLike {
  senderFrame?: { url: string } | null;
}
export interface WebContentsLike {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

export interface IpcBindingOptions {
  core: Core;
  ipcMain: IpcMainLike;
  /** Who the desktop user is (an administrator of the default tenant). */
  principal: Principal;
  /** Only frames whose URL passes this check may call (our own file:// pages). */
  isTrustedSender(url: string): boolean;
}

export function bindIpc(opts: IpcBindingOptions): { addWindow(wc: WebContentsLike): void; dispose(): void } {
  const { core, ipcMain, principal } = opts;
  ipcMain.handle(IPC_INVOKE, async (event, ...args): Promise<IpcResult> => {
    try {
      const url = event.senderFrame?.url ?? '';
      if (!opts.isTrustedSender(url))
        throw new OutpostError('forbidden', 'calls are only accepted from the console window');
      const [channel, input, tenant, idempotencyKey] = args as [unknown, unknown, unknown, unknown];
      if (typeof channel !== 'string') throw new OutpostError('invalid-input', 'channel must be a string');
      const ctx = core.context(principal, 'ipc', {
        tenant: typeof tenant === 'string' ? tenant : undefined,
        idempotencyKey: typeof idempotencyKey === 'string' ? idempotencyKey : undefined,
      });
      return { ok: true, value: await core.dispatcher.call(channel, input, ctx) };
    } catch (err) {
      return { ok: false, problem: OutpostError.from(err).toProblem() };
    }
  });
  const windows = new Set<WebContentsLike>();
  const unsubscribe = core.events.subscribe((e) => {
    if (e.tenantId !== null && e.tenantId !== principal.tenantId) return;
    for (const wc of windows) {
      if (wc.isDestroyed()) windows.delete(wc);
      else wc.send(IPC_EVENT, e);
    }
  });
  return {
    addWindow: (wc) => windows.add(wc),
    dispose() {
      unsubscribe();
      ipcMain.removeHandler(IPC_INVOKE);
    },
  };
}
