import { z } from 'zod';
import type { Core } from '../create-core.js';
import type { Principal } from '../../lib/contract/index.js';
import {
  IPC_EVENT,
  IPC_INVOKE,
  IPC_SESSION,
  type IpcResult,
  type SessionRequest,
  type Whoami,
} from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { whoamiOf } from '../access/whoami.js';

/**
 * The Electron IPC binder, written against the small part of Electron it needs so the core never
 * imports Electron (and this binder runs under Node in tests).
 *
 * Every message is checked before it reaches the dispatcher: the sending frame must be the console
 * (an exact origin check, `isTrustedSender`), the envelope must have the contract's shape (a known
 * channel, an optional tenant), and the dispatcher validates the input against the method's schema
 * and the caller's roles. Calls run as the person signed in to that window (ADR 0524): with an API
 * token (its roles), or as this computer's administrator when the desktop offers it. Nobody is signed
 * in at first, and a revoked or expired token signs the window out.
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
  sender?: { id: number } | null;
}
export interface WebContentsLike {
  readonly id: number;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

export interface IpcBindingOptions {
  core: Core;
  ipcMain: IpcMainLike;
  /** Only frames whose URL passes this check may call (the console's own origin, exactly). */
  isTrustedSender(url: string): boolean;
  /**
   * Who "sign in as this computer's administrator" stands for (the account that owns the data folder,
   * which can read the administrator token in server.json anyway); absent: only API tokens sign in.
   */
  localAdmin?: Principal | undefined;
}

/** The envelope of `outpost:invoke`: `[channel, input, tenant?, idempotencyKey?]`. */
const invokeArgs = z
  .tuple([z.string().min(1).max(200), z.unknown(), z.string().min(1).max(63).nullish()])
  .rest(z.string().max(200).nullish());

/** The messages of `outpost:session`. */
export const sessionRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('whoami') }).strict(),
  z.object({ op: z.literal('signIn'), token: z.string().min(1).max(4096) }).strict(),
  z.object({ op: z.literal('signInLocal') }).strict(),
  z.object({ op: z.literal('signOut') }).strict(),
]) satisfies z.ZodType<SessionRequest>;

/** Checks the shape of an invoke message against the contract; throws `invalid-input` / `route-not-found`. */
export function parseInvoke(
  args: unknown[],
  knows: (channel: string) => boolean,
): { channel: string; input: unknown; tenant: string | undefined; idempotencyKey: string | undefined } {
  if (args.length > 4)
    throw new OutpostError('invalid-input', `an IPC call has at most 4 arguments, not ${args.length}`);
  const r = invokeArgs.safeParse(args.length < 2 ? [...args, undefined].slice(0, 2) : args);
  if (!r.success)
    throw new OutpostError(
      'invalid-input',
      `malformed IPC call: ${r.error.issues.map((i) => `${i.path.join('.') || '(call)'}: ${i.message}`).join('; ')}`,
    );
  const [channel, input, tenant, idempotencyKey] = r.data;
  if (!knows(channel)) throw new OutpostError('route-not-found', `unknown operation "${channel}"`);
  return { channel, input, tenant: tenant ?? undefined, idempotencyKey: idempotencyKey ?? undefined };
}

type Session = { kind: 'token'; token: string; stopWatch: () => void } | { kind: 'local' };

export function bindIpc(opts: IpcBindingOptions): {
  addWindow(wc: WebContentsLike): void;
  dispose(): void;
} {
  const { core, ipcMain } = opts;
  const sessions = new Map<number, Session>();

  const trusted = (event: IpcInvokeEventLike): number => {
    const url = event.senderFrame?.url ?? '';
    if (!opts.isTrustedSender(url))
      throw new OutpostError('forbidden', 'calls are only accepted from the console window');
    const id = event.sender?.id;
    if (typeof id !== 'number') throw new OutpostError('forbidden', 'a call without a sending window');
    return id;
  };

  const endSession = (id: number) => {
    const s = sessions.get(id);
    if (s?.kind === 'token') s.stopWatch();
    sessions.delete(id);
  };

  /** The principal of a window's session, or null (not signed in, or its token stopped working). */
  const principalOf = (id: number): Principal | null => {
    const s = sessions.get(id);
    if (!s) return null;
    if (s.kind === 'local') return opts.localAdmin ?? null;
    const p = core.auth.authenticate(s.token);
    if (!p) endSession(id);
    return p;
  };

  const whoami = (p: Principal | null): Whoami | null => p && whoamiOf(p, p.tenantId);

  ipcMain.handle(IPC_INVOKE, async (event, ...args): Promise<IpcResult> => {
    try {
      const id = trusted(event);
      const { channel, input, tenant, idempotencyKey } = parseInvoke(args, (c) =>
        core.dispatcher.methods.has(c),
      );
      const principal = principalOf(id);
      if (!principal) throw new OutpostError('unauthorized', 'sign in to use the console');
      const ctx = core.context(principal, 'ipc', { tenant, idempotencyKey });
      return { ok: true, value: await core.dispatcher.call(channel, input, ctx) };
    } catch (err) {
      return { ok: false, problem: OutpostError.from(err).toProblem() };
    }
  });

  ipcMain.handle(IPC_SESSION, async (event, ...args): Promise<IpcResult> => {
    try {
      const id = trusted(event);
      const r = sessionRequestSchema.safeParse(args[0]);
      if (!r.success || args.length !== 1)
        throw new OutpostError('invalid-input', 'malformed session request');
      const req = r.data;
      if (req.op === 'signOut') {
        endSession(id);
        return { ok: true, value: null };
      }
      if (req.op === 'signIn') {
        const p = core.auth.authenticate(req.token);
        if (!p)
          throw new OutpostError('unauthorized', 'the API token is not valid (unknown, revoked or expired)');
        endSession(id);
        const stopWatch = core.auth.watch(p, () => sessions.delete(id));
        sessions.set(id, { kind: 'token', token: req.token, stopWatch });
        return { ok: true, value: whoami(p) };
      }
      if (req.op === 'signInLocal') {
        if (!opts.localAdmin)
          throw new OutpostError('forbidden', 'this console signs in with API tokens only');
        endSession(id);
        sessions.set(id, { kind: 'local' });
        return { ok: true, value: whoami(opts.localAdmin) };
      }
      return { ok: true, value: whoami(principalOf(id)) };
    } catch (err) {
      return { ok: false, problem: OutpostError.from(err).toProblem() };
    }
  });

  const windows = new Set<WebContentsLike>();
  const unsubscribe = core.events.subscribe((e) => {
    for (const wc of windows) {
      if (wc.isDestroyed()) {
        windows.delete(wc);
        endSession(wc.id);
        continue;
      }
      // Each window sees its own signed-in tenant's events (and global ones), nothing when signed out.
      const p = principalOf(wc.id);
      if (!p) continue;
      if (e.tenantId !== null && e.tenantId !== p.tenantId) continue;
      wc.send(IPC_EVENT, e);
    }
  });
  return {
    addWindow: (wc) => windows.add(wc),
    dispose() {
      unsubscribe();
      for (const id of [...sessions.keys()]) endSession(id);
      ipcMain.removeHandler(IPC_INVOKE);
      ipcMain.removeHandler(IPC_SESSION);
    },
  };
}
