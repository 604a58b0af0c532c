import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';

/**
 * Tokens and roles through the CLI (issue 17), against a real headless server: `co add token` with
 * roles, a tenant and an expiry, shown once; `co list tokens` with roles; refusals as one line with
 * exit 4; and the administrator token never in the server's output (leak 6).
 */
describe('edgectl co add/list/remove token', () => {
  const { home, cleanup } = tempHome();
  let server: ServerProcess;
  const co = (args: string[], token?: string) =>
    edgectl(['co', ...args, '--home', home, ...(token ? ['--token', token] : [])]);

  beforeAll(async () => {
    server = await startServer(home, ['--log-level', 'debug']);
    expect((await co(['add', 'tenant', 'acme'])).code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    cleanup();
  });

  it('never prints the administrator token in the server output', async () => {
    // Some traffic first, so request logging (if any) has had a chance to print it.
    expect((await co(['status'])).code).toBe(0);
    expect(server.stdout()).toContain(server.info.url);
    expect(server.stdout() + server.stderr()).not.toContain(server.info.token);
  });

  it('creates a token with roles in a tenant, expiring, shown once', async () => {
    const r = await co([
      'add',
      'token',
      '--name',
      'ci',
      '--role',
      'operator',
      '--role',
      'app-developer',
      '--tenant',
      'acme',
      '--ttl',
      '2h',
      '-o',
      'json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      token: string;
      info: { id: string; tenantId: string; roles: string[]; expiresAt: number; createdBy: string };
    };
    expect(out.token).toMatch(/^opt_/);
    expect(out.info).toMatchObject({ tenantId: 'acme', roles: ['operator', 'app-developer'] });
    expect(out.info.createdBy).toBe('operator:local');
    expect(Math.abs(out.info.expiresAt - Date.now() - 2 * 3600_000)).toBeLessThan(120_000);

    const list = await co(['list', 'tokens', '--tenant', 'acme']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ID +NAME +TENANT +ROLES +STATE +EXPIRES/);
    expect(list.stdout).toMatch(
      new RegExp(`^${out.info.id} +ci +acme +operator,app-developer +active `, 'm'),
    );
    expect(list.stdout).not.toContain(out.token);
    const json = JSON.parse(
      (await co(['list', 'tokens', '--tenant', 'acme', '-o', 'json'])).stdout,
    ) as object[];
    expect(JSON.stringify(json)).not.toContain(out.token);

    // The operator token works for the tenant, and only as an operator.
    const sites = await co(['list', 'sites', '-o', 'json'], out.token);
    expect(sites.code).toBe(0);
    const denied = await co(['add', 'site', 'plant-1'], out.token);
    expect(denied.code).toBe(4);
    expect(denied.stderr.trim().split('\n')).toHaveLength(1);
    expect(denied.stderr).toMatch(/sites\.add needs the tenant-admin role/);
  });

  it('refuses unknown roles and bad durations with exit 2, and more power than the maker with exit 4', async () => {
    const bad = await co(['add', 'token', '--name', 'x', '--role', 'root']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown role "root"/);
    const none = await co(['add', 'token', '--name', 'x']);
    expect(none.code).toBe(2);
    const ttl = await co(['add', 'token', '--name', 'x', '--role', 'viewer', '--ttl', 'soon']);
    expect(ttl.code).toBe(2);

    const ta = JSON.parse(
      (
        await co([
          'add',
          'token',
          '--name',
          'boss',
          '--role',
          'tenant-admin',
          '--tenant',
          'acme',
          '-o',
          'json',
        ])
      ).stdout,
    ) as { token: string };
    const escalate = await co(['add', 'token', '--name', 'x', '--role', 'admin'], ta.token);
    expect(escalate.code).toBe(4);
    expect(escalate.stderr).toMatch(/never has more power/);
    // A tenant administrator does not see the administrator's token of its tenant.
    await co(['add', 'token', '--name', 'root-of-acme', '--role', 'admin', '--tenant', 'acme']);
    const seen = await co(['list', 'tokens', '-o', 'json'], ta.token);
    const names = (JSON.parse(seen.stdout) as { name: string }[]).map((x) => x.name);
    expect(names).toContain('boss');
    expect(names).not.toContain('root-of-acme');
    // It may make a viewer for a day; revoking itself then takes that one along.
    const v = JSON.parse(
      (await co(['add', 'token', '--name', 'ro', '--role', 'viewer', '--ttl', '1d', '-o', 'json'], ta.token))
        .stdout,
    ) as { token: string; info: { id: string } };
    const mine = (JSON.parse(seen.stdout) as { id: string; name: string }[]).find((x) => x.name === 'boss')!;
    const rm = await co(['remove', 'token', mine.id], ta.token);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain(`also revoked the tokens it made: ${v.info.id}`);
    expect((await co(['list', 'sites'], v.token)).code).toBe(4);
  });
});
