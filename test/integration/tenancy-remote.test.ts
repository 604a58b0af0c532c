import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { startCentre, startRemoteLo, type TestCore } from '../helpers/remote-site.js';
import { tempHome } from '../helpers/home.js';
import { startGitServer, type GitServer } from '../helpers/git-server.js';
import { createMmiClient, type MmiTestClient } from '../helpers/mmi-client.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { WASM_APP, capabilitiesFor } from '../fixtures/margo.js';
import { createConsoleHttp } from '../../core/server/console-http.js';
import { connectAgentBus, type AgentBus } from '../../lib/bus/index.js';
import {
  EVENTS_PATH,
  contract,
  createClient,
  createHttpTransport,
  readSse,
  type ClientOf,
  type Contract,
} from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Two tenants across a central server and a remote LO (issue 17): tenant A (`ta`) and tenant B (`tb`)
 * both have a site `plant-9` with a node `press-01`; only B's site is served by the remote LO. What
 * the LO reports (inventory, presence, statuses) lands on B, never on A, whatever A does with its own
 * site of the same id (leaks 1 and 2); nothing of B reaches A through the API, events or audit.
 */
const ADMIN = 'opt_two-tenants-admin';
// Derived from a 1 s check-in as the server would (ADR 0500): stale after 2 x 1 + 10 s, offline after twice that.
const STALE = 12;
const OFFLINE = 24;

describe('two tenants across a central server and a remote LO', () => {
  const coHome = tempHome('outpost-co-');
  const loHome = tempHome('outpost-lo-');
  let git: GitServer;
  let co: TestCore;
  let lo: TestCore;
  let app: FastifyInstance;
  let base = '';
  let a: ClientOf<Contract>;
  let b: ClientOf<Contract>;
  let aToken = '';
  let bus: AgentBus | undefined;
  let mmi: MmiTestClient | undefined;
  const aEvents: { type: string; tenantId: string | null; data: unknown }[] = [];
  const streams: AbortController[] = [];

  const clientFor = (token: string) => createClient(contract, createHttpTransport({ baseUrl: base, token }));
  const nats = {
    enabled: true,
    heartbeatSeconds: 1,
    checkInSeconds: 1,
    staleAfterSeconds: STALE,
    offlineAfterSeconds: OFFLINE,
  };

  beforeAll(async () => {
    // B's deployments repository on a git server: the CO pushes it, B's site's LO follows it.
    git = await startGitServer();
    const repoUrl = git.createRepo('tb-deployments');
    ({ co } = await startCentre({
      home: coHome.home,
      bootstrapToken: ADMIN,
      nats,
      git: { tenantRemotes: { tb: { url: repoUrl, branch: 'main' } } },
    }));
    app = await createConsoleHttp({ core: co.core, maxBodyBytes: 1 << 20 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const admin = clientFor(ADMIN);
    await admin.tenants.add({ id: 'ta' });
    await admin.tenants.add({ id: 'tb' });
    aToken = (await admin.tenants.createToken({ name: 'a', roles: ['tenant-admin'] }, { tenant: 'ta' }))
      .token;
    a = clientFor(aToken);
    b = clientFor(
      (await admin.tenants.createToken({ name: 'b', roles: ['tenant-admin'] }, { tenant: 'tb' })).token,
    );

    // A watches its event stream the whole time.
    const ctrl = new AbortController();
    streams.push(ctrl);
    const res = await fetch(base + EVENTS_PATH, {
      headers: { authorization: `Bearer ${aToken}` },
      signal: ctrl.signal,
    });
    expect(res.status).toBe(200);
    void readSse(res.body!, (d) => aEvents.push(JSON.parse(d) as (typeof aEvents)[number])).catch(
      () => undefined,
    );

    // B's remote site, linked to the CO's bus (the administrator issues the link for B).
    await b.sites.add({ id: 'plant-9', servedBy: 'remote' });
    const link = await admin.messaging.linkSite({ siteId: 'plant-9' }, { tenant: 'tb' });
    // A makes a site of the same id, and a node of the same name, before B's node shows up (leak 1).
    await a.sites.add({ id: 'plant-9', servedBy: 'remote' });
    await a.nodes.add({ name: 'press-01', siteId: 'plant-9' });

    lo = await startRemoteLo({
      home: loHome.home,
      site: { id: 'plant-9', name: 'Plant 9' },
      link,
      repoUrl,
      nats,
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of streams) c.abort();
    await bus?.close();
    mmi?.close();
    await app?.close();
    await lo?.stop();
    await co?.stop();
    await git?.close();
    coHome.cleanup();
    loHome.cleanup();
  });

  it("B's node, enrolled at the LO, appears at B with its capabilities, though A has a site of the same id", async () => {
    const t = await lo.core.client().identity.createEnrollToken({ node: 'press-01', siteId: 'plant-9' });
    const e = await enrollOverMmi(lo.core.lo.mmiUrl()!, t);
    expect(e.nats?.seed).toBeTruthy();
    mmi = createMmiClient({
      baseUrl: lo.core.lo.mmiUrl()!,
      certPem: e.certPem,
      keyPem: e.keyPem,
      anchorsPem: e.anchorsPem,
    });
    expect((await mmi.put('/api/v1/capabilities/press-01', capabilitiesFor('press-01'))).status).toBe(201);
    const caFile = path.join(loHome.home, 'node-ca.pem');
    fs.writeFileSync(caFile, e.anchorsPem.join(''));
    bus = await connectAgentBus({
      url: e.nats!.url,
      seed: e.nats!.seed,
      user: e.nats!.user,
      nodeUid: e.clientId,
      siteId: 'plant-9',
      heartbeatSeconds: 1,
      ...(e.nats!.tls ? { tls: { caFile } } : {}),
    });

    const seen = await waitFor(
      async () => {
        const n = (await b.nodes.list({ siteId: 'plant-9' })).nodes.find((x) => x.name === 'press-01');
        return n?.state === 'enrolled' && n.capabilities ? n : undefined;
      },
      { what: "B's node at the CO", timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(seen.uid).toBe('tb.press-01');
    // A's node of the same name stays A's: registered, never seen, nothing of B's.
    const mine = await a.nodes.get({ name: 'press-01' });
    expect(mine).toMatchObject({
      uid: 'ta.press-01',
      state: 'registered',
      capabilities: null,
      lastSeenAt: null,
    });
  }, 90_000);

  it("B's node shows online at the centre while it heartbeats at the site (leak 2), A's stays unknown", async () => {
    const online = await waitFor(
      async () => {
        const n = await b.nodes.get({ name: 'press-01' });
        return n.presence === 'online' ? n : undefined;
      },
      { what: "B's node online at the CO", timeoutMs: 60_000, intervalMs: 200 },
    );
    // Long enough that only the bus (not the enrollment's last-seen) can keep it online.
    const since = Date.now();
    await waitFor(() => Date.now() - since > (OFFLINE + 1) * 1000, {
      what: 'the offline threshold to pass',
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const later = await b.nodes.get({ name: 'press-01' });
    expect(later.presence).toBe('online');
    expect(later.lastSeenAt!).toBeGreaterThan(online.lastSeenAt ?? 0);
    const mine = await a.nodes.get({ name: 'press-01' });
    expect(mine.presence).toBe('unknown');
    expect(mine.lastSeenAt).toBeNull();
  }, 60_000);

  it("statuses from the site land on B's deployment, none on A", async () => {
    await b.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    const d = await b.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant-9' } });
    expect(d.nodes.map((n) => n.nodeUid)).toEqual(['tb.press-01']);
    // Through B's repository to the LO, to the node's state manifest.
    const m = await waitFor(
      async () => {
        const r = await mmi!.get('/api/v1/deployments');
        const j = r.json<{ manifestVersion: number; deployments: { deploymentId: string }[] }>();
        return j.deployments.some((x) => x.deploymentId === d.id) ? j : undefined;
      },
      { what: 'the deployment in the node manifest', timeoutMs: 60_000, intervalMs: 200 },
    );
    // The node reports over the MMI; the LO forwards it upward; the CO files it under B.
    const r = await mmi!.post(`/api/v1/deployments/${d.id}/status`, {
      deploymentId: d.id,
      adoptedManifestVersion: m.manifestVersion,
      status: { state: 'installed' },
      components: [{ name: 'hello', state: 'installed' }],
    });
    expect(r.status).toBeLessThan(300);
    const got = await waitFor(
      async () => {
        const v = await b.deployments.get({ id: d.id });
        return v.nodes[0]!.state === 'installed' ? v : undefined;
      },
      { what: 'installed at B', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(got.nodes[0]).toMatchObject({ nodeName: 'press-01', state: 'installed' });
    expect((await a.deployments.list({ includeRemoved: true })).deployments).toEqual([]);
    expect(await a.deployments.get({ id: d.id }).catch((e: unknown) => (e as OutpostError).code)).toBe(
      'not-found',
    );
  }, 90_000);

  it("A removing its own plant-9 changes nothing for B's site", async () => {
    await a.nodes.remove({ name: 'press-01' });
    await a.sites.remove({ id: 'plant-9' });
    const caps = capabilitiesFor('press-01');
    caps.properties.memory = '8Gi';
    expect((await mmi!.put('/api/v1/capabilities/press-01', caps)).status).toBeLessThan(300);
    await waitFor(
      async () => {
        const n = await b.nodes.get({ name: 'press-01' });
        return n.capabilities?.properties.memory === '8Gi';
      },
      { what: 'the new capabilities at B', timeoutMs: 60_000, intervalMs: 200 },
    );
    expect((await b.nodes.get({ name: 'press-01' })).presence).toBe('online');
  }, 90_000);

  it("A cannot take over the bus link of B's site id, nor see B anywhere", async () => {
    const admin = clientFor(ADMIN);
    await a.sites.add({ id: 'plant-9', servedBy: 'remote' });
    const taken = await admin.messaging
      .linkSite({ siteId: 'plant-9' }, { tenant: 'ta' })
      .catch((e: unknown) => e as OutpostError);
    expect(taken).toBeInstanceOf(OutpostError);
    expect((taken as OutpostError).code).toBe('conflict');
    // The API
    expect((await a.nodes.list({})).nodes).toEqual([]);
    expect((await a.apps.list({})).apps).toEqual([]);
    expect((await a.sites.list({})).sites.map((s) => s.nodeCount)).toEqual([0]);
    expect(await a.nodes.get({ name: 'press-01' }).catch((e: unknown) => (e as OutpostError).code)).toBe(
      'not-found',
    );
    const clients = await a.identity.clients({});
    expect(JSON.stringify(clients)).not.toContain('tb.');
    // The audit log
    const audit = (await a.system.audit({ limit: 1000 })).entries;
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((x) => x.tenantId === 'ta')).toBe(true);
    expect(JSON.stringify(audit)).not.toMatch(/hello-wasm|"tb"|tb\./);
    // The event stream: A's own and global (topic-only) events, never B's.
    expect(aEvents.length).toBeGreaterThan(0);
    expect(aEvents.every((x) => x.tenantId === 'ta' || x.tenantId === null)).toBe(true);
    expect(JSON.stringify(aEvents)).not.toMatch(/"tb"|tb\.press/);
  });
});
