import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { waitFor } from './wait.js';

/**
 * Starts Debian's `docker-registry` (CNCF distribution 2.8) on a free loopback port with its storage
 * in a fresh temporary directory, for tests that need a real OCI registry. `stop()` ends the process
 * and removes the directory.
 */
export interface TestRegistry {
  /** `127.0.0.1:<port>`, as used in OCI references. */
  host: string;
  /** `http://127.0.0.1:<port>` (`https://` when started with `tls`). */
  url: string;
  stop(): Promise<void>;
}

export interface RegistryOptions {
  /** Serve HTTPS with this certificate and key (PEM file paths). */
  tls?: { certificate: string; key: string };
  /** The registry's `auth:` configuration section, e.g. `{ token: { realm, service, issuer, rootcertbundle } }`. */
  auth?: Record<string, unknown>;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      lastError = err; // most likely another process took the port between probe and bind
    }
  }
  throw lastError;
}

async function startOnce(options: RegistryOptions): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: path.join(dir, 'data') }, delete: { enabled: true } },
    http: {
      addr: host,
      secret: crypto.randomBytes(16).toString('hex'),
      ...(options.tls ? { tls: { certificate: options.tls.certificate, key: options.tls.key } } : {}),
    },
    ...(options.auth ? { auth: options.auth } : {}),
  };
  const configFile = path.join(dir, 'config.yml');
  fs.writeFileSync(configFile, stringify(config));
  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      stderr += `cannot run docker-registry (apt-get install docker-registry): ${err.message}`;
      resolve(null);
    });
  });

  const stop = async () => {
    await kill(child, exited);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, exited, () => stderr);
  } catch (err) {
    await stop();
    throw err;
  }
  return { host, url: `${options.tls ? 'https' : 'http'}://${host}`, stop };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, exited: Promise<number | null>, log: () => string): Promise<void> {
  let exit: { code: number | null } | undefined;
  void exited.then((code) => (exit = { code }));
  const listening = () =>
    new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  await waitFor(listening, {
    what: () => `docker-registry to listen on 127.0.0.1:${port} (log: ${log().trim()})`,
    giveUpIf: () => exit && `docker-registry exited (code ${exit.code}) before listening`,
    timeoutMs: 15_000,
  });
}

async function kill(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
