import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { NatsState } from '../../lib/contract/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { systemClock } from '../../lib/base/index.js';
import { isOutpostError } from '../../lib/errors/index.js';
import { createNatsSupervisor } from './supervisor.js';
import { openCredentialStore } from './credentials.js';
import { serverInputFor } from './topology.js';
import {
  processAlive,
  removeTempDirs,
  startTestServer,
  tempDir,
  type TestServer,
} from '../../lib/base/testing.js';
import { waitFor } from '../../test/helpers/wait.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  removeTempDirs();
});

function seedBytes(seed: string): Uint8Array {
  return new TextEncoder().encode(seed);
}

describe('nats-server supervisor (real nats-server)', () => {
  let server: TestServer;
  let service: NatsConnection;

  it('starts on random ports, reports running, and refuses anonymous clients', async () => {
    const states: NatsState['state'][] = [];
    server = await startTestServer({ role: 'lo', siteId: 's1' });
    cleanups.push(() => server.stop());
    server.sup.onState((s) => states.push(s.state));
    expect(server.sup.state()).toMatchObject({ state: 'running', restarts: 0 });
    expect(server.sup.state().url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(server.sup.ports()!.client).not.toBe(4222);
    const res = await fetch(`${server.sup.monitorUrl()}/healthz`);
    expect(res.status).toBe(200);
    const conf = fs.statSync(path.join(server.dir, 'nats-server.conf'));
    expect(conf.mode & 0o777).toBe(0o600);

    await expect(connect({ servers: server.url, reconnect: false })).rejects.toThrow(/authorization/i);
    service = await server.connectService();
    expect(service.isClosed()).toBe(false);
  });

  it('restarts a killed server with backoff on the same port; clients reconnect', async () => {
    const pid = server.sup.pid()!;
    const port = server.sup.ports()!.client;
    const seen: string[] = [];
    const off = server.sup.onState((s) => seen.push(s.state));
    process.kill(pid, 'SIGKILL');
    await waitFor(() => server.sup.state().state === 'running' && server.sup.pid() !== pid, {
      what: 'restart',
      timeoutMs: 15_000,
    });
    off();
    expect(seen).toContain('restarting');
    expect(server.sup.state().restarts).toBe(1);
    expect(server.sup.ports()!.client).toBe(port);
    expect(processAlive(pid)).toBe(false);
    await waitFor(
      () =>
        service.flush().then(
          () => true,
          () => false,
        ),
      { what: 'the service connection to reconnect', timeoutMs: 15_000 },
    );
    expect(service.isClosed()).toBe(false);
  });

  it('reloads added and removed users without dropping other connections', async () => {
    const disconnects: string[] = [];
    void (async () => {
      for await (const s of service.status()) if (s.type === 'disconnect') disconnects.push(s.type);
    })();
    const a = server.creds.issueNode('acme.a', 's1');
    const b = server.creds.issueNode('acme.b', 's1');
    await server.reload();
    const ncA = await connect({
      servers: server.url,
      authenticator: nkeyAuthenticator(seedBytes(a.seed!)),
      reconnect: false,
    });
    const ncB = await connect({
      servers: server.url,
      authenticator: nkeyAuthenticator(seedBytes(b.seed!)),
      reconnect: false,
    });
    const bClosed = ncB.closed();

    server.creds.removeNode('acme.b');
    await server.reload();
    const err = await Promise.race([bClosed, new Promise((r) => setTimeout(() => r('still open'), 5000))]);
    expect(err).not.toBe('still open');
    await expect(
      connect({
        servers: server.url,
        authenticator: nkeyAuthenticator(seedBytes(b.seed!)),
        reconnect: false,
      }),
    ).rejects.toThrow(/authorization/i);
    await ncA.flush();
    expect(ncA.isClosed()).toBe(false);
    await service.flush();
    expect(disconnects).toEqual([]);
    await ncA.close();
  });

  it('reports a refused reload with the server message and keeps running', async () => {
    await expect(server.sup.reconfigure((c) => ({ ...c, domain: 'other-domain' }))).rejects.toSatisfy(
      (e: unknown) => isOutpostError(e, 'nats-unavailable') && /refused/.test((e as Error).message),
    );
    await server.sup.reconfigure((c) => ({ ...c, domain: 'site-s1' }));
    expect(server.sup.state().state).toBe('running');
  });

  it('stops cleanly and leaves no process behind', async () => {
    const pid = server.sup.pid()!;
    await service.close();
    await server.sup.stop();
    expect(server.sup.state().state).toBe('stopped');
    expect(processAlive(pid)).toBe(false);
  });

  it('says failed after repeated crashes and keeps its message', async () => {
    const dir = tempDir('nats-fail');
    const creds = openCredentialStore({ file: path.join(dir, 'credentials.json'), clock: systemClock });
    const sup = createNatsSupervisor({
      binary: '/bin/false',
      dir,
      config: serverInputFor({
        role: 'lo',
        siteId: 's1',
        host: '127.0.0.1',
        port: 0,
        leafPort: 0,
        storeDir: path.join(dir, 'js'),
        credentials: creds,
      }),
      logger: silentLogger(),
      clock: systemClock,
      timing: { backoffInitialMs: 20, backoffMaxMs: 40, failedAfter: 3 },
    });
    cleanups.push(() => sup.stop());
    await sup.start();
    await waitFor(() => sup.state().state === 'failed', { what: 'failed state', timeoutMs: 15_000 });
    expect(sup.state().message).toMatch(/exit code 1/);
    expect(sup.state().restarts).toBeGreaterThanOrEqual(3);
    await sup.stop();
    expect(sup.state().state).toBe('stopped');
  });

  it('kills nats-server when the supervising process dies (SIGKILL)', async () => {
    const dir = tempDir('nats-orphan');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'testdata', 'supervise-child.ts'), dir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    const natsPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /nats-pid (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on('exit', () => reject(new Error(`child exited early: ${out}`)));
    });
    expect(processAlive(natsPid)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => !processAlive(natsPid), {
      what: 'nats-server to die with its parent',
      timeoutMs: 10_000,
    });
  });

  describe('health checks', () => {
    /** Blocks this thread (the supervisor's event loop) for `ms`. */
    const blockLoop = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

    it('a stopped (hung) nats-server is killed and started again after its failed health checks', async () => {
      const s = await startTestServer({
        role: 'lo',
        timing: { healthIntervalMs: 100, healthTimeoutMs: 300, healthFailures: 2 },
      });
      cleanups.push(() => s.stop());
      const pid = s.sup.pid()!;
      process.kill(pid, 'SIGSTOP');
      try {
        await waitFor(() => s.sup.state().state === 'running' && s.sup.pid() !== pid, {
          what: 'a new nats-server after failed health checks',
          timeoutMs: 20_000,
        });
      } finally {
        if (processAlive(pid)) process.kill(pid, 'SIGCONT');
      }
      expect(s.sup.state().restarts).toBe(1);
      await waitFor(() => !processAlive(pid), { what: 'the hung nats-server to be gone', timeoutMs: 10_000 });
      await s.stop();
    });

    it('a supervising process too busy to hear the answer does not kill a healthy nats-server (ADR 0508)', async () => {
      // One failed check would restart it: only checks that were not judged at all leave it running.
      const s = await startTestServer({
        role: 'lo',
        timing: { healthIntervalMs: 20, healthTimeoutMs: 1000, healthFailures: 1 },
      });
      cleanups.push(() => s.stop());
      const pid = s.sup.pid()!;
      const seen: string[] = [];
      const off = s.sup.onState((st) => seen.push(st.state));
      for (let i = 0; i < 3; i++) {
        // A check goes out while nats-server is stopped (checks go every 20 ms and wait up to 1 s)...
        process.kill(pid, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, 100));
        // ...nats-server answers it at once, but this loop is blocked past the check's deadline.
        process.kill(pid, 'SIGCONT');
        blockLoop(1600);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Checks after the blocks still run and succeed.
      const nc = await s.connectService();
      await nc.flush();
      await nc.close();
      off();
      expect(seen).toEqual([]);
      expect(s.sup.pid()).toBe(pid);
      expect(s.sup.state()).toMatchObject({ state: 'running', restarts: 0 });
      await s.stop();
    });
  });
});
