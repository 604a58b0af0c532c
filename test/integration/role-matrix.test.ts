import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { startTestCore } from '../helpers/core.js';
import { createConsoleHttp } from '../../core/server/console-http.js';
import { bindIpc, type IpcInvokeEventLike } from '../../core/rpc/ipc.js';
import {
  contract,
  describeRoles,
  IPC_INVOKE,
  IPC_SESSION,
  listMethods,
  ROLE_SUMMARY,
  ROLES,
  rolesAllow,
  type IpcResult,
  type Principal,
  type ResolvedMethod,
  type Role,
  type Whoami,
} from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';

/**
 * The role matrix (issue 17, ADR 0520), generated from the contract: every method, called by a token of
 * every role, over HTTP, IPC and in-process, answers as the method's declared roles say: allowed (any
 * answer but 401/403), or 403 problem+json naming the role needed. A new method is in it by being in
 * the contract. docs/roles.md is the same table for people; this test keeps it true.
 */
const ADMIN = 'opt_role-matrix-admin';
const METHODS = listMethods(contract);
const ROLES_UNDER_TEST: Role[] = [...ROLES];

type Answer = { ok: true } | { ok: false; status: number; code: string; detail: string; data: unknown };

function expectAnswer(m: ResolvedMethod, role: Role, transport: string, a: Answer): void {
  const where = `${m.channel} as ${role} over ${transport}`;
  if (rolesAllow([role], m.def.roles)) {
    if (!a.ok) {
      expect(a.status, `${where}: ${a.code} ${a.detail}`).not.toBe(403);
      expect(a.status, `${where}: ${a.code} ${a.detail}`).not.toBe(401);
    }
    return;
  }
  expect(a.ok, `${where} was allowed`).toBe(false);
  if (a.ok) return;
  expect(a.status, where).toBe(403);
  expect(a.code, where).toBe('forbidden');
  expect(a.data, where).toMatchObject({ requiredRoles: [...m.def.roles], roles: [role] });
  for (const r of m.def.roles) expect(a.detail, where).toContain(r);
}

/** docs/roles.md: who may call what, from the contract. */
function rolesMarkdown(): string {
  const head = `| method | kind | roles | ${ROLES.join(' | ')} |`;
  const sep = `|---|---|---|${ROLES.map(() => '---').join('|')}|`;
  const rows = METHODS.map(
    (m) =>
      `| \`${m.channel}\` | ${m.def.kind} | ${describeRoles(m.def.roles)} | ${ROLES.map((r) => (rolesAllow([r], m.def.roles) ? 'yes' : '')).join(' | ')} |`,
  );
  return [
    '# Roles: who may call what',
    '',
    'Generated from the contract (`roles` of each method in `lib/contract/services/`) and kept true by',
    '`test/integration/role-matrix.test.ts` (`UPDATE_ROLES_DOC=1 npx vitest run test/integration/role-matrix.test.ts`',
    'rewrites it). A token holds one or more tenant roles in one tenant, or `admin`; ADR 0520 says why.',
    '',
    '| role | what it is for |',
    '|---|---|',
    ...ROLES.map((r) => `| \`${r}\` | ${ROLE_SUMMARY[r]} |`),
    '',
    head,
    sep,
    ...rows,
    '',
  ].join('\n');
}

describe('the role matrix over every contract method', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let app: FastifyInstance;
  let base: string;
  const tokens = new Map<Role, string>();
  const principals = new Map<Role, Principal>();

  beforeAll(async () => {
    t = await startTestCore({ bootstrapToken: ADMIN });
    app = await createConsoleHttp({ core: t.core, maxBodyBytes: 1 << 20 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const admin = t.core.client();
    await admin.tenants.add({ id: 'acme' });
    for (const role of ROLES_UNDER_TEST) {
      const r = await admin.tenants.createToken({ name: role, roles: [role] }, { tenant: 'acme' });
      tokens.set(role, r.token);
      principals.set(role, t.core.auth.authenticate(r.token)!);
    }
  });
  afterAll(async () => {
    await app?.close();
    await t?.stop();
  });

  it('covers every method of the contract, each declaring known roles', () => {
    expect(METHODS.length).toBeGreaterThan(50);
    for (const m of METHODS) {
      expect(m.def.roles.length, m.channel).toBeGreaterThan(0);
      for (const r of m.def.roles) expect(ROLES, m.channel).toContain(r);
    }
  });

  it('over HTTP: allowed, or 403 problem+json naming the role needed', async () => {
    for (const m of METHODS) {
      for (const role of ROLES_UNDER_TEST) {
        const res = await fetch(`${base}/api/v1/rpc/${m.channel}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(role)}` },
          body: '{}',
        });
        const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
        if (res.status === 403)
          expect(res.headers.get('content-type'), m.channel).toContain('application/problem+json');
        expectAnswer(
          m,
          role,
          'http',
          res.ok
            ? { ok: true }
            : {
                ok: false,
                status: res.status,
                code: String(body?.code),
                detail: String(body?.detail),
                data: body?.data,
              },
        );
      }
    }
  });

  it('over IPC: the same answers', async () => {
    const handlers = new Map<string, (e: IpcInvokeEventLike, ...a: unknown[]) => Promise<unknown>>();
    const binding = bindIpc({
      core: t.core,
      ipcMain: { handle: (c, l) => void handlers.set(c, l), removeHandler: (c) => void handlers.delete(c) },
      isTrustedSender: () => true,
    });
    try {
      for (const [i, role] of ROLES_UNDER_TEST.entries()) {
        const event = { senderFrame: { url: 'app://console/index.html' }, sender: { id: 100 + i } };
        const signedIn = (await handlers.get(IPC_SESSION)!(event, {
          op: 'signIn',
          token: tokens.get(role),
        })) as IpcResult;
        expect(signedIn.ok).toBe(true);
        for (const m of METHODS) {
          const r = (await handlers.get(IPC_INVOKE)!(event, m.channel, {})) as IpcResult;
          const e = r.ok ? undefined : OutpostError.fromProblem(r.problem);
          expectAnswer(
            m,
            role,
            'ipc',
            e ? { ok: false, status: e.status, code: e.code, detail: e.message, data: e.data } : { ok: true },
          );
        }
      }
    } finally {
      binding.dispose();
    }
  });

  it('in-process: the same answers', async () => {
    for (const role of ROLES_UNDER_TEST) {
      const client = t.core.client(principals.get(role)) as unknown as Record<
        string,
        Record<string, (i: unknown) => Promise<unknown>>
      >;
      for (const m of METHODS) {
        let a: Answer = { ok: true };
        try {
          await client[m.service]![m.method]!({});
        } catch (err) {
          const e = OutpostError.from(err);
          a = { ok: false, status: e.status, code: e.code, detail: e.message, data: e.data };
        }
        expectAnswer(m, role, 'in-process', a);
      }
    }
  });

  it('tells the console the same answers (system.whoami), for every method and role', async () => {
    for (const role of ROLES_UNDER_TEST) {
      const res = await fetch(`${base}/api/v1/rpc/system.whoami`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(role)}` },
        body: '{}',
      });
      expect(res.status, role).toBe(200);
      const me = (await res.json()) as Whoami;
      expect(me.roles).toEqual([role]);
      expect(Object.keys(me.access).sort()).toEqual(METHODS.map((m) => m.channel).sort());
      for (const m of METHODS) {
        const a = me.access[m.channel]!;
        const where = `${m.channel} as ${role}`;
        expect(a.allowed, where).toBe(rolesAllow([role], m.def.roles));
        expect(a.needs, where).toEqual([...m.def.roles]);
        if (a.allowed) expect(a.reason, where).toBe('');
        else for (const r of m.def.roles) expect(a.reason, where).toContain(r);
      }
    }
  });

  it('is documented in docs/roles.md', () => {
    const file = path.join(process.cwd(), 'docs', 'roles.md');
    const want = rolesMarkdown();
    if (process.env.UPDATE_ROLES_DOC === '1') fs.writeFileSync(file, want);
    expect(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '', 'docs/roles.md is stale').toBe(want);
  });
});
