import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore } from '../../test/helpers/core.js';
import type { Principal } from '../../lib/contract/index.js';

/** Leak 5 of issue 17: system.status showed every caller the server's data folder, database and tenant count. */
describe('system.status by role', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  beforeAll(async () => {
    t = await startTestCore();
    await t.core.client().tenants.add({ id: 'acme' });
  });
  afterAll(async () => t.stop());

  it('shows an administrator the data folder, the database file and the tenant count', async () => {
    const s = await t.core.client().system.status({});
    expect(s.home).toBe(t.home);
    expect(s.database.file).toContain(t.home);
    expect(s.counts.tenants).toBe(2);
  });

  it('shows a tenant nothing global: no folder, no database path, no tenant count', async () => {
    const viewer: Principal = { id: 'token:v', name: 'v', tenantId: 'acme', roles: ['viewer'] };
    const s = await t.core.client(viewer).system.status({});
    expect(s.home).toBeNull();
    expect(s.database.file).toBeNull();
    expect(s.counts.tenants).toBeNull();
    expect(s.tenant).toBe('acme');
    expect(s.database.schemaVersion).toMatch(/^\d{4}_/);
    expect(JSON.stringify(s)).not.toContain(t.home);
  });
});
