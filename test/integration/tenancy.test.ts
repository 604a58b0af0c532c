import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { startTestCore } from '../helpers/core.js';
import { createConsoleHttp } from '../../core/server/console-http.js';
import {
  createClient,
  createHttpTransport,
  contract,
  type Contract,
  type ClientOf,
} from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';

const ADMIN = 'opt_admin-bootstrap';

const margo = (id: string) => `id: ${id}
metadata:
  name: ${id}
  version: 1.0.0
  catalog:
    organization: [{ name: Acme }]
deploymentProfiles:
  - type: compose
    id: ${id}-compose
    components:
      - name: web
        properties: { repository: "oci://registry.local/${id}", revision: 1.0.0 }
`;

const model = (id: string) => `id: ${id}
vendor: Acme
modelNumber: M-${id}
runtimes: [oci]
deploymentTypes: [compose]
capabilities:
  properties:
    cpus: [{ cores: 4, architecture: amd64 }]
    memory: 8Gi
`;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OutpostError) return err.code;
    throw err;
  }
  return 'ok';
}

describe('tenant isolation over the console API', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let app: FastifyInstance;
  let base: string;
  let a: ClientOf<Contract>;
  let b: ClientOf<Contract>;
  const clientFor = (token: string) => createClient(contract, createHttpTransport({ baseUrl: base, token }));

  beforeAll(async () => {
    t = await startTestCore({ bootstrapToken: ADMIN });
    app = await createConsoleHttp({ core: t.core, maxBodyBytes: 1 << 20 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const admin = clientFor(ADMIN);
    await admin.tenants.add({ id: 'acme' });
    await admin.tenants.add({ id: 'globex' });
    a = clientFor((await admin.tenants.createToken({ name: 'acme-ci' }, { tenant: 'acme' })).token);
    b = clientFor((await admin.tenants.createToken({ name: 'globex-ci' }, { tenant: 'globex' })).token);
    // tenant B's records
    await b.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: margo('globex-app') } },
    });
    await b.deviceModels.add({ upload: { fileName: 'model.yaml', content: model('globex-box') } });
    await b.sites.add({ id: 'globex-plant' });
    await b.nodes.add({ name: 'globex-node', siteId: 'globex-plant' });
  });
  afterAll(async () => {
    await app.close();
    await t.stop();
  });

  it('tenant A lists none of B', async () => {
    expect((await a.apps.list({})).apps).toEqual([]);
    expect((await a.deviceModels.list({})).models).toEqual([]);
    expect((await a.sites.list({})).sites).toEqual([]);
    expect((await a.nodes.list({})).nodes).toEqual([]);
    expect((await a.system.status({})).counts).toMatchObject({
      apps: 0,
      deviceModels: 0,
      sites: 0,
      nodes: 0,
    });
    const audit = (await a.system.audit({ limit: 100 })).entries;
    expect(audit.every((e) => e.tenantId === 'acme')).toBe(true);
    expect(JSON.stringify(audit)).not.toContain('globex-');
  });

  it('tenant A cannot read B records by id (they simply do not exist for A)', async () => {
    expect(await codeOf(a.apps.get({ id: 'globex-app' }))).toBe('not-found');
    expect(await codeOf(a.deviceModels.get({ id: 'globex-box' }))).toBe('not-found');
    expect(await codeOf(a.sites.get({ id: 'globex-plant' }))).toBe('not-found');
    expect(await codeOf(a.nodes.get({ name: 'globex-node' }))).toBe('not-found');
  });

  it('tenant A cannot change or remove B records', async () => {
    expect(await codeOf(a.apps.remove({ id: 'globex-app' }))).toBe('not-found');
    expect(await codeOf(a.deviceModels.remove({ id: 'globex-box' }))).toBe('not-found');
    expect(await codeOf(a.sites.remove({ id: 'globex-plant' }))).toBe('not-found');
    expect(await codeOf(a.nodes.cordon({ name: 'globex-node' }))).toBe('not-found');
    expect(await codeOf(a.nodes.label({ name: 'globex-node', set: { x: 'y' }, remove: [] }))).toBe(
      'not-found',
    );
    expect(await codeOf(a.nodes.add({ name: 'intruder', siteId: 'globex-plant' }))).toBe('not-found');
    expect(await codeOf(a.nodes.uncordon({ name: 'globex-node' }))).toBe('not-found');
    expect(await codeOf(a.nodes.setModel({ name: 'globex-node', modelId: null }))).toBe('not-found');
    expect(await codeOf(a.nodes.remove({ name: 'globex-node' }))).toBe('not-found');
    expect(await codeOf(a.sites.addOrchestrator({ id: 'lo-x', siteId: 'globex-plant' }))).toBe('not-found');
    expect(await codeOf(a.apps.remove({ id: 'globex-app', version: '1.0.0' }))).toBe('not-found');
    // nor link its own records to B's
    await a.sites.add({ id: 'acme-plant' });
    expect(await codeOf(a.nodes.add({ name: 'n1', siteId: 'acme-plant', modelId: 'globex-box' }))).toBe(
      'not-found',
    );
    await a.nodes.add({ name: 'n1', siteId: 'acme-plant' });
    expect(await codeOf(a.nodes.setModel({ name: 'n1', modelId: 'globex-box' }))).toBe('not-found');
    expect((await b.deviceModels.get({ id: 'globex-box' })).nodeCount).toBe(0);
    expect((await b.sites.get({ id: 'globex-plant' })).orchestrator).toBeNull();
    const node = await b.nodes.get({ name: 'globex-node' });
    expect(node.cordoned).toBe(false);
    expect(node.labels).toEqual({});
    expect((await b.apps.list({})).apps.map((x) => x.id)).toEqual(['globex-app']);
  });

  it('tenant A cannot act on B by naming the tenant', async () => {
    expect(await codeOf(a.apps.list({}, { tenant: 'globex' }))).toBe('forbidden');
    expect(await codeOf(a.tenants.list({}))).toBe('forbidden');
    expect(await codeOf(a.tenants.createToken({ name: 'escalate', admin: true }))).toBe('forbidden');
  });

  it('the same names can live in both tenants without clashing', async () => {
    await a.sites.add({ id: 'globex-plant' });
    await a.nodes.add({ name: 'globex-node', siteId: 'globex-plant' });
    await a.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: margo('globex-app') } },
    });
    expect((await a.nodes.get({ name: 'globex-node' })).uid).toBe('acme.globex-node');
    expect((await b.nodes.get({ name: 'globex-node' })).uid).toBe('globex.globex-node');
  });

  it('a revoked token stops working at once', async () => {
    const admin = clientFor(ADMIN);
    const r = await admin.tenants.createToken({ name: 'temp' }, { tenant: 'acme' });
    const c = clientFor(r.token);
    expect((await c.sites.list({})).sites.length).toBeGreaterThanOrEqual(0);
    await admin.tenants.revokeToken({ id: r.info.id }, { tenant: 'acme' });
    expect(await codeOf(c.sites.list({}))).toBe('unauthorized');
  });
});
