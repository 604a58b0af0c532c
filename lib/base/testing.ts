import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { silentLogger, type Logger } from '../log/index.js';
import { systemClock } from './clock.js';
import { openCredentialStore, type CredentialStore } from '../../core/messaging/credentials.js';
import { locateNatsServer } from '../../core/messaging/locate.js';
import type { LeafRemote, TlsFiles } from '../../core/messaging/server-config.js';
import {
  createNatsSupervisor,
  type NatsSupervisor,
  type SupervisorTiming,
} from '../../core/messaging/supervisor.js';
import { connectService, serverInputFor, type MessagingRole } from '../../core/messaging/topology.js';

/**
 * Helpers for tests and benchmarks that run real nats-server processes (random ports, temporary
 * folders). Not used by the product.
 */

const made = new Set<string>();
let hooked = false;

/**
 * A temporary folder, removed by `removeTempDirs()` (call it in `afterAll`, after stopping servers), and
 * at the latest when the test process exits (a folder made while collecting skipped tests).
 */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `outpost-${prefix}-`));
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      try {
        removeTempDirs();
      } catch {
        // nothing more to do at exit
      }
    });
  }
  return dir;
}

export function removeTempDirs(): void {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  made.clear();
}

export interface TestServer {
  readonly role: MessagingRole;
  readonly siteId: string;
  readonly dir: string;
  readonly sup: NatsSupervisor;
  readonly creds: CredentialStore;
  readonly url: string;
  /** `nats-leaf://127.0.0.1:<port>` for roles co and all. */
  readonly leafUrl: string | undefined;
  /** A connection as the control plane's own service user. */
  connectService(): Promise<NatsConnection>;
  /** Regenerates the configuration from the credential registry and reloads the server. */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  role: MessagingRole;
  siteId?: string;
  dir?: string;
  hubLeaf?: LeafRemote;
  /** Role co/all: the leaf address advertised to leaves (`nats.leafAdvertise`). */
  leafAdvertise?: string;
  tls?: TlsFiles;
  timing?: Partial<SupervisorTiming>;
  logger?: Logger;
  /** Prepare the credential registry before the first start (e.g. issue node users). */
  setup?: (creds: CredentialStore) => void;
}

export async function startTestServer(o: TestServerOptions): Promise<TestServer> {
  const dir = o.dir ?? tempDir(`nats-${o.role}`);
  const siteId = o.siteId ?? 'local';
  const creds = openCredentialStore({ file: path.join(dir, 'credentials.json'), clock: systemClock });
  o.setup?.(creds);
  const input = () =>
    serverInputFor({
      role: o.role,
      siteId,
      host: '127.0.0.1',
      port: 0,
      leafPort: 0,
      leafAdvertise: o.leafAdvertise,
      storeDir: path.join(dir, 'jetstream'),
      credentials: creds,
      tls: o.tls,
      hubLeaf: o.hubLeaf,
    });
  const sup = createNatsSupervisor({
    binary: locateNatsServer({ pathEnv: process.env.PATH }),
    dir,
    config: input(),
    logger: o.logger ?? silentLogger(),
    clock: systemClock,
    timing: { backoffInitialMs: 100, backoffMaxMs: 1000, ...o.timing },
  });
  await sup.start();
  await sup.ready(20_000);
  const ports = sup.ports()!;
  const conns: NatsConnection[] = [];
  return {
    role: o.role,
    siteId,
    dir,
    sup,
    creds,
    url: sup.clientUrl()!,
    leafUrl: ports.leaf ? `nats-leaf://127.0.0.1:${ports.leaf}` : undefined,
    async connectService() {
      const nc = await connectService({
        url: sup.clientUrl()!,
        seed: creds.serviceSeed(),
        publicKey: creds.servicePublicKey(),
        name: `test-service-${o.role}`,
        tls: o.tls ? { caFile: o.tls.caFile } : undefined,
      });
      conns.push(nc);
      return nc;
    },
    async reload() {
      await sup.reconfigure((cur) => ({ ...input(), port: cur.port, monitorPort: cur.monitorPort }));
    },
    async stop() {
      await Promise.allSettled(conns.map((c) => c.close()));
      await sup.stop();
    },
  };
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
