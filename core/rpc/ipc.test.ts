import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindIpc, type IpcInvokeEventLike, type WebContentsLike } from './ipc.js';
import { startTestCore } from '../../test/helpers/core.js';
import {
  createIpcTransport,
  IPC_EVENT,
  IPC_INVOKE,
  type IpcResult,
  type OutpostBridge,
  createClient,
  contract,
  type EventEnvelope,
} from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';

// Electron cannot run here; this stands in for ipcMain/webContents with the same call shapes,
// and the real core, dispatcher and SQLite audit log behind it.
function fakeElectron(frameUrl: string) {
  const handlers = new Map<string, (e: IpcInvokeEventLike, ...a: unknown[]) => Promise<unknown>>();
  const sent: { channel: string; args: unknown[] }[] = [];
  const wc: WebContentsLike = {
    send: (channel, ...args) => sent.push({ channel, args }),
    isDestroyed: () => false,
  };
  const ipcMain = {
    handle: (c: string, l: (e: IpcInvokeEventLike, ...a: unknown[]) => Promise<unknown>) =>
      void handlers.set(c, l),
    removeHandler: (c: string) => void handlers.delete(c),
  };
  const listeners = new Set<(e: EventEnvelope) => void>();
  const bridge: OutpostBridge = {
    invoke: (channel, input, tenant, idempotencyKey) =>
      handlers.get(IPC_INVOKE)!(
        { senderFrame: { url: frameUrl } },
        channel,
        input,
        tenant,
        idempotencyKey,
      ) as Promise<IpcResult>,
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { ipcMain, wc, sent, bridge, handlers };
}

describe('IPC binder', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  beforeAll(async () => {
    t = await startTestCore();
  });
  afterAll(async () => t.stop());

  const principal = { id: 'desktop:alice', name: 'alice', tenantId: 'default', admin: true };

  it('serves the contract to a trusted window and rebuilds errors with their code', async () => {
    const fx = fakeElectron('file:///app/dist/renderer/index.html');
    const binding = bindIpc({
      core: t.core,
      ipcMain: fx.ipcMain,
      principal,
      isTrustedSender: (u) => u.startsWith('file:///app/dist/renderer/'),
    });
    const client = createClient(contract, createIpcTransport(fx.bridge));
    const s = await client.system.status({});
    expect(s.tenant).toBe('default');
    const err = await client.system.audit({ limit: -1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('invalid-input');
    expect((err as OutpostError).errors?.[0]?.field).toBe('limit');
    binding.dispose();
    expect(fx.handlers.has(IPC_INVOKE)).toBe(false);
  });

  it('refuses calls from frames that are not the console', async () => {
    const fx = fakeElectron('https://evil.example/');
    const binding = bindIpc({
      core: t.core,
      ipcMain: fx.ipcMain,
      principal,
      isTrustedSender: (u) => u.startsWith('file:///app/'),
    });
    const r = await fx.bridge.invoke('system.status', {});
    expect(r.ok).toBe(false);
    expect(OutpostError.fromProblem((r as { problem: unknown }).problem).code).toBe('forbidden');
    binding.dispose();
  });

  it('carries an Idempotency-Key: a retry answers from the first call', async () => {
    const fx = fakeElectron('file:///app/index.html');
    const binding = bindIpc({ core: t.core, ipcMain: fx.ipcMain, principal, isTrustedSender: () => true });
    const client = createClient(contract, createIpcTransport(fx.bridge));
    const first = await client.sites.add({ id: 'ipc-site' }, { idempotencyKey: 'ipc-key-1' });
    const again = await client.sites.add({ id: 'ipc-site' }, { idempotencyKey: 'ipc-key-1' });
    expect(again).toEqual(first);
    // Without the key, the same request is a second attempt, refused as a duplicate.
    await expect(client.sites.add({ id: 'ipc-site' })).rejects.toMatchObject({ code: 'already-exists' });
    binding.dispose();
  });

  it('forwards events of the desktop tenant to windows', () => {
    const fx = fakeElectron('file:///app/index.html');
    const binding = bindIpc({ core: t.core, ipcMain: fx.ipcMain, principal, isTrustedSender: () => true });
    binding.addWindow(fx.wc);
    t.core.events.changed('default', 'apps');
    t.core.events.changed('someone-else', 'apps');
    expect(fx.sent).toHaveLength(1);
    expect(fx.sent[0]!.channel).toBe(IPC_EVENT);
    expect(fx.sent[0]!.args[0]).toMatchObject({ type: 'changed', tenantId: 'default' });
    binding.dispose();
  });
});
