import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../store/db.js';
import { silentLogger } from '../../lib/log/index.js';
import { createManifestStore } from './manifests.js';
import { createFollower, type DesiredSource, type Follower } from './follower.js';
import { startGitServer, type GitServer } from '../../test/helpers/git-server.js';
import { freePort } from '../messaging/ports.js';

/**
 * Issue 19, defect 6: the LO's account of its desired-state source. A failed fetch never refreshes the
 * adoption time; a network timeout or a refused connection is "unreachable", never REFUSED (the word for a
 * rewritten history); the run of failures is dated from its first failure and ends at the next good read.
 */
describe('the desired-state source, as the LO reports it', () => {
  let git: GitServer;
  let store: Store;
  let follower: Follower;
  let silent: net.Server;
  const held: net.Socket[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-follower-'));
  let now = 1_800_000_000_000;
  let url = '';
  let goodUrl = '';

  beforeAll(async () => {
    git = await startGitServer();
    goodUrl = git.createRepo('deployments', { 'README.md': 'desired state\n' }, { branch: 'main' });
    url = goodUrl;
    // A server that accepts and never answers (a firewall that lets SYN through, or a hung server).
    silent = net.createServer((s) => void held.push(s.on('error', () => undefined)));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    store = openStore(path.join(dir, 'outpost.db'));
    const clock = { now: () => now, monotonic: () => now };
    const sources = (): DesiredSource[] => [
      {
        kind: 'remote',
        tenantId: 'default',
        url,
        branch: 'main',
        mirrorDir: path.join(dir, 'mirror'),
        timeoutMs: 700,
      },
    ];
    follower = createFollower({
      store,
      clock,
      logger: silentLogger(),
      manifests: createManifestStore({ store, clock }),
      sources,
    });
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    silent?.close();
    store?.close();
    await git?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adopts a commit and dates it', async () => {
    const r = await follower.sync('default');
    expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(follower.status('default')).toMatchObject({
      commit: r.commit,
      adoptedAt: now,
      checkedAt: now,
      lastError: null,
      lastErrorKind: null,
    });
  });

  it('a source that times out is unreachable, dated from the first failure; the adoption time stays', async () => {
    const adoptedAt = now;
    now += 60_000;
    const firstFailure = now;
    url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/deployments.git`;
    await expect(follower.sync('default')).rejects.toThrow();
    let st = follower.status('default');
    expect(st).toMatchObject({
      adoptedAt,
      lastErrorKind: 'unreachable',
      failingSince: firstFailure,
      lastErrorAt: now,
    });

    // Next try: connection refused. Still unreachable, the run still dates from its first failure.
    now += 30_000;
    url = `http://127.0.0.1:${await freePort()}/deployments.git`;
    await expect(follower.sync('default')).rejects.toThrow();
    st = follower.status('default');
    expect(st).toMatchObject({
      adoptedAt,
      lastErrorKind: 'unreachable',
      failingSince: firstFailure,
      lastErrorAt: now,
    });
    expect(st.checkedAt).toBe(adoptedAt);
  });

  it('the next good read ends the failure without moving the adoption time', async () => {
    const adoptedAt = follower.status('default').adoptedAt;
    now += 30_000;
    url = goodUrl;
    await follower.sync('default');
    expect(follower.status('default')).toMatchObject({
      adoptedAt,
      checkedAt: now,
      lastError: null,
      lastErrorKind: null,
      failingSince: null,
    });
  });

  it('a rewritten history is refused, and only that is called refused', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-rewrite-'));
    try {
      await git.git(['clone', '-q', goodUrl, work]);
      await git.git(['commit', '-q', '--amend', '-m', 'rewritten'], work);
      await git.git(['push', '-q', '--force', 'origin', 'main'], work);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    now += 10_000;
    const r = await follower.sync('default');
    expect(r.refused).toMatch(/history was rewritten/);
    expect(follower.status('default')).toMatchObject({ lastErrorKind: 'refused', failingSince: now });
  });
});
