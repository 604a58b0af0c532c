import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/base/index.js';
import { openCredentialStore } from './credentials.js';
import { buildNatsConfig, renderNatsConfig } from './server-config.js';
import { serverInputFor } from './topology.js';
import { removeTempDirs, tempDir } from '../../lib/base/testing.js';

afterAll(removeTempDirs);

function store() {
  const dir = tempDir('cfg');
  return openCredentialStore({ file: path.join(dir, 'credentials.json'), clock: systemClock });
}

describe('nats-server configuration', () => {
  it('puts every user in the OUTPOST account with permissions and no anonymous user', () => {
    const creds = store();
    creds.issueNode('acme.n1', 's1');
    creds.issueLeaf('s2');
    const cfg = buildNatsConfig({
      ...serverInputFor({
        role: 'co',
        siteId: 'hq',
        host: '127.0.0.1',
        port: 4222,
        leafPort: 7422,
        storeDir: '/data/js',
        credentials: creds,
      }),
      monitorPort: 8222,
    });
    expect(cfg).not.toHaveProperty('no_auth_user');
    expect(cfg).not.toHaveProperty('authorization');
    const users = (cfg.accounts as { OUTPOST: { users: Record<string, unknown>[] } }).OUTPOST.users;
    expect(users).toHaveLength(3);
    for (const u of users) expect(u.permissions).toBeDefined();
    expect(users.find((u) => u.user === 'leaf-s2')).toMatchObject({ allowed_connection_types: ['LEAFNODE'] });
    expect(cfg).toMatchObject({
      http: '127.0.0.1:8222',
      jetstream: { store_dir: '/data/js', domain: 'co' },
      leafnodes: { host: '127.0.0.1', port: 7422, advertise: '127.0.0.1:7422' },
    });
  });

  it('advertises the configured leaf address to leaves, never one nats-server picks (ADR 0167)', () => {
    const input = (host: string, leafAdvertise?: string) =>
      buildNatsConfig({
        ...serverInputFor({
          role: 'co',
          siteId: 'hq',
          host,
          port: 4222,
          leafPort: 7422,
          leafAdvertise,
          storeDir: '/js',
          credentials: store(),
        }),
        monitorPort: 8222,
      }).leafnodes as { advertise?: string };
    expect(input('10.1.2.3').advertise).toBe('10.1.2.3:7422');
    expect(input('0.0.0.0').advertise).toBe('127.0.0.1:7422');
    expect(input('0.0.0.0', 'relay.plant.example:17422').advertise).toBe('relay.plant.example:17422');
  });

  it('gives an LO its site domain and a leaf remote with credentials, and no leaf users', () => {
    const creds = store();
    creds.issueLeaf('s9'); // registry entries of a CO are not users of an LO
    const cfg = buildNatsConfig({
      ...serverInputFor({
        role: 'lo',
        siteId: 's1',
        host: '0.0.0.0',
        port: 4222,
        leafPort: 0,
        storeDir: '/js',
        credentials: creds,
        hubLeaf: { url: 'nats-leaf://hq.example:7422', user: 'leaf-s1', password: 'p@ss/word' },
      }),
      monitorPort: 8222,
    });
    expect(cfg.jetstream).toMatchObject({ domain: 'site-s1' });
    expect((cfg.accounts as { OUTPOST: { users: unknown[] } }).OUTPOST.users).toHaveLength(1);
    const leaf = cfg.leafnodes as { remotes: { url: string; account: string }[]; port?: number };
    expect(leaf.port).toBeUndefined();
    expect(leaf.remotes[0]).toEqual({
      url: 'nats-leaf://leaf-s1:p%40ss%2Fword@hq.example:7422',
      account: 'OUTPOST',
    });
  });

  it('is JSON that nats-server reads as is', () => {
    const text = renderNatsConfig({
      serverName: 'x',
      host: '127.0.0.1',
      port: 1,
      monitorPort: 2,
      storeDir: '/js',
      domain: 'co',
      users: store().users({ includeLeafs: true }),
      tls: { certFile: '/c', keyFile: '/k', caFile: '/ca' },
    });
    expect(JSON.parse(text)).toMatchObject({
      tls: { cert_file: '/c', key_file: '/k', ca_file: '/ca', verify: false },
    });
  });

  it('refuses unresolved ports and an empty user list', () => {
    const base = { serverName: 'x', host: '127.0.0.1', storeDir: '/js', domain: 'co' };
    expect(() =>
      buildNatsConfig({ ...base, port: 0, monitorPort: 2, users: store().users({ includeLeafs: false }) }),
    ).toThrow(/concrete port/);
    expect(() => buildNatsConfig({ ...base, port: 1, monitorPort: 2, users: [] })).toThrow(/anonymous/);
  });
});
