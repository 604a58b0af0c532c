import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindIpc, parseInvoke, type IpcInvokeEventLike, type WebContentsLike } from './ipc.js';
import { startTestCore } from '../../test/helpers/core.js';
import {
  createIpcTransport,
  IPC_EVENT,
  IPC_INVOKE,
  IPC_SESSION,
  type IpcResult,
  type OutpostBridge,
  type Principal,
  createClient,
  contract,
  type EventEnvelope,
} from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';

// Electron cannot run here; this stands in for ipcMain/webContents with the same call shapes,
// and the real core, dispatcher and SQLite audit log behind it.
let nextId = 1;
function fakeElectron(frameUrl: string) {
  const handlers = new Map<string, (e: IpcInvokeEventLike, ...a: unknown[]) => Promise<unknown>>();
  const sent: { channel: string; args: unknown[] }[] = [];
  const wc: WebContentsLike = {
    id: nextId++,
    send: (channel, ...args) => sent.push({ channel, args }),
    isDestroyed: () => false,
  };
  const ipcMain = {
    handle: (c: string, l: (e: IpcInvokeEventLike, ...a: unknown[]) => Promise<unknown>) =>
      void handlers.set(c, l),
    removeHandler: (c: string) => void handlers.delete(c),
  };
  const event = (): IpcInvokeEventLike => ({ senderFrame: { url: frameUrl }, sender: { id: wc.id } });
  const raw = (...args: unknown[]) => handlers.get(IPC_INVOKE)!(event(), ...args) as Promise<IpcResult>;
  const bridge: OutpostBridge = {
    invoke: (channel, input, tenant, idempotencyKey) => raw(channel, input, tenant, idempotencyKey),
    onEvent: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    session: (req) => handlers.get(IPC_SESSION)!(event(), req) as Promise<IpcResult>,
  };
  const listeners = new Set<(e: EventEnvelope) => void>();
  return { ipcMain, wc, sent, bridge, handlers, raw };
}

const problemCode = (r: IpcResult) =>
  r.ok ? 'ok' : OutpostError.fromProblem((r as { problem: unknown }).problem).code;

describe('IPC binder', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let viewerToken = '';
  beforeAll(async () => {
    t = await startTestCore();
    viewerToken = (await t.core.client().tenants.createToken({ name: 'desk', roles: ['viewer'] })).token;
  });
  afterAll(async () => t.stop());

  const localAdmin: Principal = { id: 'desktop:alice', name: 'alice', tenantId: 'default', roles: ['admin'] };

  it('serves the contract to a signed-in console window and rebuilds errors with their code', async () => {
    const fx = fakeElectron('app://console/index.html');
    const binding = bindIpc({
      core: t.core,
      ipcMain: fx.ipcMain,
      localAdmin,
      isTrustedSender: (u) => u.startsWith('app://console/'),
    });
    const client = createClient(contract, createIpcTransport(fx.bridge));
    // Nobody is signed in at first: no blanket administrator.
    const before = await client.system.status({}).catch((e: unknown) => e as OutpostError);
    expect((before as OutpostError).code).toBe('unauthorized');
    const me = await fx.bridge.session({ op: 'signInLocal' });
    expect(me).toMatchObject({ ok: true, value: { id: 'desktop:alice', roles: ['admin'] } });
    const s = await client.system.status({});
    expect(s.tenant).toBe('default');
    const err = await client.system.audit({ limit: -1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('invalid-input');
    expect((err as OutpostError).errors?.[0]?.field).toBe('limit');
    binding.dispose();
    expect(fx.handlers.has(IPC_INVOKE)).toBe(false);
    expect(fx.handlers.has(IPC_SESSION)).toBe(false);
  });

  it('acts with the roles of the token the person signed in with', async () => {
    const fx = fakeElectron('app://console/index.html');
    const binding = bindIpc({ core: t.core, ipcMain: fx.ipcMain, isTrustedSender: () => true });
    expect(problemCode(await fx.bridge.session({ op: 'signIn', token: 'opt_wrong' }))).toBe('unauthorized');
    expect(problemCode(await fx.bridge.session({ op: 'signInLocal' }))).toBe('forbidden');
    const me = await fx.bridge.session({ op: 'signIn', token: viewerToken });
    expect(me).toMatchObject({ ok: true, value: { roles: ['viewer'], tenantId: 'default' } });
    const client = createClient(contract, createIpcTransport(fx.bridge));
    expect((await client.apps.list({})).apps).toEqual([]);
    const denied = (await client.sites.add({ id: 'nope' }).catch((e: unknown) => e)) as OutpostError;
    expect(denied.code).toBe('forbidden');
    expect(denied.status).toBe(403);
    expect(denied.data).toMatchObject({ requiredRoles: ['tenant-admin'], roles: ['viewer'] });
    expect(denied.message).toContain('tenant-admin');
    await fx.bridge.session({ op: 'signOut' });
    expect(problemCode(await fx.raw('apps.list', {}))).toBe('unauthorized');
    binding.dispose();
  });

  it('refuses calls from frames that are not the console', async () => {
    const fx = fakeElectron('https://evil.example/');
    const binding = bindIpc({
      core: t.core,
      ipcMain: fx.ipcMain,
      localAdmin,
      isTrustedSender: (u) => u.startsWith('app://console/'),
    });
    expect(problemCode(await fx.bridge.session({ op: 'signInLocal' }))).toBe('forbidden');
    expect(problemCode(await fx.bridge.invoke('system.status', {}))).toBe('forbidden');
    binding.dispose();
  });

  it('checks every message against the contract before it reaches the dispatcher', async () => {
    const fx = fakeElectron('app://console/index.html');
    const binding = bindIpc({ core: t.core, ipcMain: fx.ipcMain, localAdmin, isTrustedSender: () => true });
    await fx.bridge.session({ op: 'signInLocal' });
    expect(problemCode(await fx.raw('no.such', {}))).toBe('route-not-found');
    expect(problemCode(await fx.raw(42, {}))).toBe('invalid-input');
    expect(problemCode(await fx.raw('apps.list', {}, { tenant: 'x' }))).toBe('invalid-input');
    expect(problemCode(await fx.raw('apps.list', {}, undefined, undefined, 'extra'))).toBe('invalid-input');
    expect(problemCode(await fx.raw('apps.list', { unexpected: true }))).toBe('invalid-input');
    expect(problemCode(await fx.raw('apps.list', {}))).toBe('ok');
    expect(problemCode(await fx.bridge.session({ op: 'becomeRoot' } as never))).toBe('invalid-input');
    binding.dispose();
    expect(() => parseInvoke(['apps.list'], () => true)).not.toThrow();
    expect(() => parseInvoke([], () => true)).toThrow(/malformed/);
  });

  it('carries an Idempotency-Key: a retry answers from the first call', async () => {
    const fx = fakeElectron('app://console/index.html');
    const binding = bindIpc({ core: t.core, ipcMain: fx.ipcMain, localAdmin, isTrustedSender: () => true });
    await fx.bridge.session({ op: 'signInLocal' });
    const client = createClient(contract, createIpcTransport(fx.bridge));
    const first = await client.sites.add({ id: 'ipc-site' }, { idempotencyKey: 'ipc-key-1' });
    const again = await client.sites.add({ id: 'ipc-site' }, { idempotencyKey: 'ipc-key-1' });
    expect(again).toEqual(first);
    // Without the key, the same request is a second attempt, refused as a duplicate.
    await expect(client.sites.add({ id: 'ipc-site' })).rejects.toMatchObject({ code: 'already-exists' });
    binding.dispose();
  });

  it('forwards events of the signed-in tenant to windows, and none once the token is revoked', async () => {
    const fx = fakeElectron('app://console/index.html');
    const binding = bindIpc({ core: t.core, ipcMain: fx.ipcMain, isTrustedSender: () => true });
    binding.addWindow(fx.wc);
    t.core.events.changed('default', 'apps');
    expect(fx.sent).toHaveLength(0);
    const { token, info } = await t.core.client().tenants.createToken({ name: 'win', roles: ['operator'] });
    await fx.bridge.session({ op: 'signIn', token });
    t.core.events.changed('default', 'apps');
    t.core.events.changed('someone-else', 'apps');
    expect(fx.sent).toHaveLength(1);
    expect(fx.sent[0]!.channel).toBe(IPC_EVENT);
    expect(fx.sent[0]!.args[0]).toMatchObject({ type: 'changed', tenantId: 'default' });
    await t.core.client().tenants.revokeToken({ id: info.id });
    t.core.events.changed('default', 'apps');
    expect(fx.sent).toHaveLength(1);
    expect(problemCode(await fx.raw('apps.list', {}))).toBe('unauthorized');
    binding.dispose();
  });
});
