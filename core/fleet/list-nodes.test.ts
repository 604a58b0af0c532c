import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { startTestCore } from '../../test/helpers/core.js';
import { tempHome } from '../../test/helpers/home.js';
import { seedFleet } from '../../test/helpers/seed-fleet.js';
import { createConsoleHttp } from '../server/console-http.js';
import {
  createClient,
  createHttpTransport,
  contract,
  type Contract,
  type Node,
  type NodesListInput,
  type ClientOf,
} from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { createPaths } from '../../lib/base/index.js';
import { openStore, type Store } from '../store/db.js';
import { nodes } from '../store/schema/index.js';
import { listNodes } from './list-nodes.js';
import { classifyPresence } from '../../lib/model/index.js';

const ADMIN = 'opt_admin-list-nodes';
const TOTAL = 400;
const THRESHOLDS = { staleAfterMs: 600_000, offlineAfterMs: 1_800_000 };

/** A few nodes besides the seeded fleet: reported labels (string, number, array), a revoked one. */
function addOddNodes(store: Store, now: number): void {
  const add = (name: string, v: Partial<typeof nodes.$inferInsert>) =>
    store.db
      .insert(nodes)
      .values({
        uid: `default.${name}`,
        tenantId: 'default',
        name,
        siteId: 'plant-a',
        labels: {},
        state: 'enrolled',
        createdAt: now - 1000,
        ...v,
      })
      .run();
  add('odd-reported', {
    labels: { zone: 'north' },
    capabilities: {
      properties: { id: 'x', vendor: 'v', modelNumber: 'm', serialNumber: 's', memory: '2Gi' },
      labels: { zone: 'south', gpu: 2, tags: ['cam', 'lidar'], rack: 'R7', hall: 'Ära' },
    },
    capabilitiesAt: now - 5000,
    lastSeenAt: now - 5000,
  });
  add('odd-revoked', { state: 'revoked', lastSeenAt: now - 1000, revokedAt: now - 500 });
}

/** What the console's old in-browser filter matched: a text in any lower-cased `key=value`. */
const labelStrings = (n: Node) => [
  ...Object.entries(n.labels).map(([k, v]) => `${k}=${v}`.toLowerCase()),
  ...Object.entries(n.reportedLabels).map(([k, v]) => `${k}=${String(v)}`.toLowerCase()),
];

describe('nodes.list: server-side paging, sorting and filtering', () => {
  const home = tempHome('outpost-list-nodes-');
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let app: FastifyInstance;
  let api: ClientOf<Contract>;
  let acme: ClientOf<Contract>;
  let all: Node[];

  beforeAll(async () => {
    seedFleet(home.home, TOTAL);
    const store = openStore(createPaths(home.home).dbFile);
    addOddNodes(store, Date.now());
    store.close();
    t = await startTestCore({
      home: home.home,
      bootstrapToken: ADMIN,
      overrides: { nats: { staleAfterSeconds: 600, offlineAfterSeconds: 1800 } },
    });
    app = await createConsoleHttp({ core: t.core, maxBodyBytes: 1 << 20 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    api = createClient(contract, createHttpTransport({ baseUrl: base, token: ADMIN }));
    await api.tenants.add({ id: 'acme' });
    acme = createClient(
      contract,
      createHttpTransport({
        baseUrl: base,
        token: (await api.tenants.createToken({ name: 'acme' }, { tenant: 'acme' })).token,
      }),
    );
    await acme.sites.add({ id: 'plant-a' });
    for (const name of ['bulk-00000', 'acme-1', 'acme-2'])
      await acme.nodes.add({ name, siteId: 'plant-a', labels: { rack: 'r7' } });
    all = (await api.nodes.list({})).nodes;
  });
  afterAll(async () => {
    await app?.close();
    await t?.stop();
    home.cleanup();
  });

  it('without the new inputs answers as before: every node, by name, with documents, and the total', async () => {
    const r = await api.nodes.list({});
    expect(r.nodes).toHaveLength(TOTAL + 2);
    expect(r.total).toBe(TOTAL + 2);
    expect(r.nodes.map((n) => n.name)).toEqual(r.nodes.map((n) => n.name).sort());
    const first = r.nodes.find((n) => n.name === 'bulk-00000')!;
    expect(first.capabilities?.properties.serialNumber).toBe('SN0');
    expect(first.capacity).toEqual({ architectures: ['arm64'], cores: 4, memory: '8Gi', storage: null });
    const site = await api.nodes.list({ siteId: 'plant-b' });
    expect(site.total).toBe(TOTAL / 2);
    expect(site.nodes.every((n) => n.siteId === 'plant-b')).toBe(true);
  });

  it('pages: limit and offset walk every node once, with the same total on each page', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < TOTAL + 2; offset += 150) {
      const r = await api.nodes.list({ limit: 150, offset, sort: { field: 'presence', direction: 'asc' } });
      expect(r.total).toBe(TOTAL + 2);
      expect(r.nodes.length).toBe(Math.min(150, TOTAL + 2 - offset));
      seen.push(...r.nodes.map((n) => n.uid));
    }
    expect(new Set(seen).size).toBe(TOTAL + 2);
    const past = await api.nodes.list({ limit: 10, offset: 10_000 });
    expect(past).toMatchObject({ nodes: [], total: TOTAL + 2 });
  });

  it('bounds the page size', async () => {
    for (const limit of [0, 1001, 2.5]) {
      const err = (await api.nodes.list({ limit }).catch((e: unknown) => e)) as OutpostError;
      expect(err).toBeInstanceOf(OutpostError);
      expect(err.code).toBe('invalid-input');
      expect(err.status).toBe(400);
      expect(err.errors?.map((e) => e.field)).toEqual(['limit']);
    }
    expect((await api.nodes.list({ limit: 1000 })).nodes).toHaveLength(TOTAL + 2);
  });

  it('refuses an unknown sort field with a 400 naming the field and the columns it can sort by', async () => {
    const bad = { limit: 10, sort: { field: 'capabilities', direction: 'asc' } } as unknown as NodesListInput;
    const err = (await api.nodes.list(bad).catch((e: unknown) => e)) as OutpostError;
    expect(err.code).toBe('invalid-input');
    expect(err.status).toBe(400);
    expect(err.errors).toEqual([
      {
        field: 'sort.field',
        message:
          'cannot sort nodes by "capabilities": sort by one of name, siteId, state, presence, lastSeenAt, model, cordoned, createdAt',
      },
    ]);
    const dir = { sort: { field: 'name', direction: 'up' } } as unknown as NodesListInput;
    expect(((await api.nodes.list(dir).catch((e: unknown) => e)) as OutpostError).errors?.[0]?.field).toBe(
      'sort.direction',
    );
  });

  it('keeps tenants apart: totals, pages and searches see only the caller tenant', async () => {
    const mine = await acme.nodes.list({ limit: 100, search: 'r7' });
    expect(mine.total).toBe(3);
    expect(mine.nodes.map((n) => n.uid)).toEqual(['acme.acme-1', 'acme.acme-2', 'acme.bulk-00000']);
    expect((await acme.nodes.list({ limit: 5, sort: { field: 'presence', direction: 'asc' } })).total).toBe(
      3,
    );
    const theirs = await api.nodes.list({ limit: 1000, search: 'bulk-00000' });
    expect(theirs.nodes.map((n) => n.uid)).toEqual(['default.bulk-00000']);
    const counted = await api.nodes.list({ limit: 1, siteId: 'plant-a' });
    expect(counted.total).toBe(TOTAL / 2 + 2);
  });

  it('filters by presence exactly as it shows presence, and the states add up to the total', async () => {
    let sum = 0;
    for (const p of ['online', 'stale', 'offline', 'unknown'] as const) {
      const r = await api.nodes.list({ limit: 1000, presence: [p] });
      expect(r.nodes.length).toBe(r.total);
      expect(r.nodes.every((n) => n.presence === p)).toBe(true);
      expect(r.total).toBe(all.filter((n) => n.presence === p).length);
      // The shown presence follows from the shown last-seen, the server's clock and thresholds.
      for (const n of r.nodes)
        if (n.state !== 'revoked') expect(classifyPresence(n.lastSeenAt, r.now, THRESHOLDS)).toBe(n.presence);
      sum += r.total;
    }
    expect(sum).toBe(TOTAL + 2);
    const revoked = await api.nodes.list({ limit: 10, presence: ['offline'], search: 'odd-revoked' });
    expect(revoked.nodes.map((n) => [n.name, n.presence])).toEqual([['odd-revoked', 'offline']]);
    const two = await api.nodes.list({ limit: 1000, presence: ['online', 'stale'], siteId: 'plant-b' });
    expect(two.nodes.every((n) => n.siteId === 'plant-b' && ['online', 'stale'].includes(n.presence))).toBe(
      true,
    );
  });

  it('sorts by presence (online, stale, offline, unknown; freshest first) and by each column both ways', async () => {
    const r = await api.nodes.list({ limit: 1000, sort: { field: 'presence', direction: 'asc' } });
    const rank = { online: 0, stale: 1, offline: 2, unknown: 3 };
    const ranks = r.nodes.map((n) => rank[n.presence]);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    const online = r.nodes.filter((n) => n.presence === 'online').map((n) => n.lastSeenAt!);
    expect(online).toEqual([...online].sort((a, b) => b - a));
    const down = await api.nodes.list({ limit: 1000, sort: { field: 'presence', direction: 'desc' } });
    expect(down.nodes.map((n) => n.uid)).toEqual(r.nodes.map((n) => n.uid).reverse());

    const bySite = await api.nodes.list({ limit: 1000, sort: { field: 'siteId', direction: 'desc' } });
    expect(bySite.nodes[0]!.siteId).toBe('plant-b');
    expect(bySite.nodes.at(-1)!.siteId).toBe('plant-a');
    const bySeen = await api.nodes.list({ limit: 1000, sort: { field: 'lastSeenAt', direction: 'desc' } });
    const seen = bySeen.nodes.map((n) => n.lastSeenAt ?? -1);
    expect(seen).toEqual([...seen].sort((a, b) => b - a));
    const byState = await api.nodes.list({ limit: 1000, sort: { field: 'state', direction: 'asc' } });
    expect([...new Set(byState.nodes.map((n) => n.state))]).toEqual(['registered', 'enrolled', 'revoked']);
    for (const field of ['model', 'cordoned', 'createdAt', 'name'] as const) {
      const page = await api.nodes.list({ limit: 5, sort: { field, direction: 'asc' } });
      expect(page.nodes).toHaveLength(5);
    }
  });

  it('searches names and labels (operator and reported) as the console did, and selectors match exactly', async () => {
    for (const text of ['rack=r7', 'RACK=R1', 'zone=south', 'tags=cam,li', 'gpu=2', 'bulk-0001', '=r19']) {
      const want = all
        .filter(
          (n) =>
            n.name.includes(text.toLowerCase()) ||
            labelStrings(n).some((s) => s.includes(text.toLowerCase())),
        )
        .map((n) => n.uid);
      const r = await api.nodes.list({ limit: 1000, search: text });
      expect(
        r.nodes.map((n) => n.uid),
        text,
      ).toEqual(want);
      expect(r.total).toBe(want.length);
    }
    expect((await api.nodes.list({ limit: 1000, search: '   ' })).total).toBe(TOTAL + 2);
    // Case folding is ASCII on both sides: non-ASCII text is found as written.
    expect((await api.nodes.list({ limit: 1000, search: 'HALL=Ära' })).nodes.map((n) => n.name)).toEqual([
      'odd-reported',
    ]);
    // The operator's label wins over the reported one with the same key.
    const sel = async (selector: Record<string, string>) =>
      (await api.nodes.list({ selector })).nodes.map((n) => n.name);
    expect(await sel({ zone: 'north' })).toEqual(['odd-reported']);
    expect(await sel({ zone: 'south' })).toEqual([]);
    expect(await sel({ gpu: '2', tags: 'cam,lidar' })).toEqual(['odd-reported']);
    expect(await sel({ rack: 'r7', 'no-such': 'x' })).toEqual([]);
    expect((await sel({ rack: 'r7' })).length).toBe(TOTAL / 20);
  });

  it('leaves the capabilities document out of rows when asked, keeping capacity and reported labels', async () => {
    const full = await api.nodes.list({ limit: 1000 });
    const lean = await api.nodes.list({ limit: 1000, capabilities: false });
    expect(lean.nodes.every((n) => n.capabilities === null)).toBe(true);
    expect(lean.nodes.map((n) => ({ ...n, capabilities: null }))).toEqual(
      full.nodes.map((n) => ({ ...n, capabilities: null })),
    );
    expect(JSON.stringify(lean).length).toBeLessThan(JSON.stringify(full).length * 0.8);
    const odd = lean.nodes.find((n) => n.name === 'odd-reported')!;
    expect(odd.capacity).toEqual({ architectures: [], cores: 0, memory: '2Gi', storage: null });
    expect(odd.reportedLabels).toMatchObject({ zone: 'south', tags: ['cam', 'lidar'] });
    expect(lean.nodes.find((n) => n.name === 'bulk-00003')!.capacity).toBeNull();
  });
});

describe('listNodes: heartbeats on the bus count for presence filters and sorts', () => {
  it('a node only the bus heard a moment ago is online in the filter, the order and the row', () => {
    const home = tempHome('outpost-list-live-');
    seedFleet(home.home, 8);
    const store = openStore(createPaths(home.home).dbFile);
    try {
      const now = Date.now();
      const deps = {
        sqlite: store.sqlite,
        thresholds: THRESHOLDS,
        // bulk-00003 was never seen in the database; the bus heard it 10 ms ago.
        liveSeen: (_site: string, uid: string) => (uid === 'default.bulk-00003' ? now - 10 : null),
      };
      const q = { offset: 0, capabilities: false };
      const online = listNodes(deps, 'default', { ...q, presence: ['online'] }, now);
      expect(online.nodes.map((n) => [n.name, n.presence])).toEqual([
        ['bulk-00000', 'online'],
        ['bulk-00003', 'online'],
        ['bulk-00004', 'online'],
      ]);
      const unknown = listNodes(deps, 'default', { ...q, presence: ['unknown'] }, now);
      expect(unknown.nodes.map((n) => n.name)).toEqual(['bulk-00007']);
      const sorted = listNodes(
        deps,
        'default',
        { ...q, sort: { field: 'presence', direction: 'asc' }, limit: 1 },
        now,
      );
      expect(sorted.nodes.map((n) => [n.name, n.lastSeenAt])).toEqual([['bulk-00003', now - 10]]);
      // Sorted by name, the page's rows still show the bus's last-seen.
      const byName = listNodes(deps, 'default', { ...q, limit: 4 }, now);
      expect(byName.nodes[3]).toMatchObject({ name: 'bulk-00003', presence: 'online', lastSeenAt: now - 10 });
    } finally {
      store.close();
      home.cleanup();
    }
  });
});
