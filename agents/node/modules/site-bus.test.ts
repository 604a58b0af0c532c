import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/base/index.js';
import { createUserNkey, fastNkeyAuthenticator, nodeSubject } from '../../../lib/bus/index.js';
import { silentLogger } from '../../../lib/log/index.js';
import type { Enrollment } from '../identity.js';
import { createSiteBus } from './site-bus.js';
import { waitFor } from '../../../test/helpers/wait.js';

// The bus module against a real nats-server (Debian's) with NKEY users: it connects in the background,
// turns a "poll now" notice from the LO into a poll, and once stopped acts on none.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

describe('the bus module', () => {
  it('polls when the LO sends "poll now", and not after it stopped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bus-module-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const node = createUserNkey();
    const lo = createUserNkey();
    const port = await freePort();
    const conf = path.join(dir, 'nats.conf');
    fs.writeFileSync(
      conf,
      `listen: "127.0.0.1:${port}"\nauthorization { users = [ { nkey: ${node.publicKey} }, { nkey: ${lo.publicKey} } ] }\n`,
    );
    const server: ChildProcess = spawn('nats-server', ['-c', conf], { stdio: 'ignore' });
    cleanups.push(
      () =>
        new Promise<void>((resolve) =>
          server.exitCode !== null ? resolve() : (server.once('exit', () => resolve()), server.kill()),
        ),
    );
    let polls = 0;
    const enrollment = { clientId: 'default.edge-b', siteId: 'site-b' } as Enrollment;
    const bus = createSiteBus({
      nats: {
        url: `nats://127.0.0.1:${port}`,
        seed: node.seed,
        user: node.publicKey,
        inboxPrefix: '_INBOX_edge-b',
        subjects: { notify: '', status: '', events: '', presence: '' },
      },
      enrollment,
      anchorsFile: path.join(dir, 'anchors.pem'),
      version: 'test',
      started: systemClock.monotonic(),
      onPollNow: () => void polls++,
      clock: systemClock,
      logger: silentLogger(),
    });
    await bus.start();
    const nc = await waitFor(
      () =>
        connect({
          servers: `nats://127.0.0.1:${port}`,
          authenticator: fastNkeyAuthenticator(lo.seed, lo.publicKey),
        }),
      { what: 'nats-server to start', timeoutMs: 20_000 },
    );
    cleanups.push(() => nc.close());
    const subject = nodeSubject('site-b', 'default.edge-b', 'notify');
    // The module connects in the background: notify until it has acted once.
    await waitFor(
      () => {
        nc.publish(subject, JSON.stringify({ at: Date.now(), reason: 'test' }));
        return polls > 0;
      },
      { what: 'a poll from a notice', timeoutMs: 20_000 },
    );
    await bus.stop();
    const after = polls;
    nc.publish(subject, JSON.stringify({ at: Date.now() }));
    await nc.flush();
    expect(polls).toBe(after);
  });
});
