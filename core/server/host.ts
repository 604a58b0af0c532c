import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  createPaths,
  type Paths,
  systemClock,
  type Clock,
  packageVersion,
  projectRoot,
} from '../../lib/base/index.js';
import { createLogger, type Logger } from '../../lib/log/index.js';
import { loadConfig } from '../config-file.js';
import type { ConfigOverrides, Config } from '../config.js';
import { openStore, type Store } from '../store/db.js';
import { createCore, type Core, type CoreDeps } from '../create-core.js';
import { newToken } from '../auth.js';
import { createConsoleHttp } from './console-http.js';
import { acquireHomeLock, type HomeLock } from './lock.js';

/** What `<home>/run/server.json` holds (mode 0600): how clients find and authenticate to the server. */
export interface ServerInfo {
  url: string;
  token: string;
  pid: number;
  role: Config['role'];
  home: string;
  version: string;
  startedAt: number;
  natsUrl?: string | undefined;
  mmiUrl?: string | undefined;
  /** The site registry over HTTPS (certificate from the site CA; `<home>/pki/site-ca/ca.pem` verifies it). */
  registryUrl?: string | undefined;
  /** The site registry over plain HTTP on 127.0.0.1 (tools on this machine). */
  registryLoopbackUrl?: string | undefined;
}

export interface HostOptions {
  home: string;
  overrides?: ConfigOverrides;
  logger?: Logger;
  clock?: Clock;
  /** Folder with the built console; default `<root>/dist/renderer`. */
  staticDir?: string;
  /** The desktop's keychain for the bundle signing key (Electron safeStorage). */
  sealer?: CoreDeps['sealer'];
  /** Test hook: named points of a bundle import (crash tests). */
  failpoint?: CoreDeps['failpoint'];
}

export interface Host {
  readonly core: Core;
  readonly info: ServerInfo;
  readonly paths: Paths;
  /** Stops accepting requests, lets in-flight ones finish, stops the core, closes the database, removes server.json. */
  stop(): Promise<void>;
}

/**
 * Runs the control plane headless: lock the home, load config, open and migrate the database, start
 * the core, listen, then publish `server.json`. Used by `edgectl server` and by the desktop app.
 */
export async function startHost(options: HostOptions): Promise<Host> {
  const paths = createPaths(options.home);
  fs.mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  const tightened = tightenHome(paths.home);
  fs.mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
  const lock: HomeLock = acquireHomeLock(paths.lockFile, paths.home);
  let store: Store | undefined;
  let core: Core | undefined;
  try {
    const config = loadConfig(paths.configFile, options.overrides);
    const logger = options.logger ?? createLogger({ level: config.logging.level });
    if (tightened)
      logger.warn(
        { home: paths.home, was: tightened },
        'the data directory was open to other users; now 0700',
      );
    const clock = options.clock ?? systemClock;
    store = openStore(paths.dbFile);
    const token = newToken();
    const version = packageVersion();
    core = createCore({
      config,
      paths,
      store,
      clock,
      logger,
      version,
      bootstrapToken: token,
      ...(options.sealer ? { sealer: options.sealer } : {}),
      ...(options.failpoint ? { failpoint: options.failpoint } : {}),
    });
    await core.start();

    const http = await createConsoleHttp({
      core,
      staticDir: options.staticDir ?? path.join(projectRoot(), 'dist', 'renderer'),
      maxBodyBytes: config.server.maxBodyBytes,
    });
    await http.listen({ host: config.server.host, port: config.server.port });
    const addr = http.server.address() as AddressInfo;
    const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const info: ServerInfo = {
      url: `http://${hostForUrl}:${addr.port}`,
      token,
      pid: process.pid,
      role: config.role,
      home: paths.home,
      version,
      startedAt: core.startedAt,
      natsUrl: core.messaging.natsUrl() ?? undefined,
      mmiUrl: core.lo.mmiUrl() ?? undefined,
      registryUrl: core.registry.url() ?? undefined,
      registryLoopbackUrl: core.registry.loopbackUrl() ?? undefined,
    };
    writeServerJson(paths.serverJson, info);
    logger.info({ url: info.url, role: config.role }, 'console API listening');
    core.ready();

    let stopping: Promise<void> | undefined;
    const theCore = core;
    const theStore = store;
    return {
      core: theCore,
      info,
      paths,
      stop() {
        stopping ??= (async () => {
          removeServerJson(paths.serverJson, info.pid);
          const grace = setTimeout(() => http.server.closeAllConnections(), config.server.shutdownGraceMs);
          grace.unref();
          try {
            await http.close();
          } finally {
            clearTimeout(grace);
          }
          await theCore.stop();
          theStore.close();
          lock.release();
          logger.info('server stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    try {
      await core?.stop();
    } catch {
      /* keep the first error */
    }
    store?.close();
    lock.release();
    throw err;
  }
}

/**
 * The home holds the database, the site CA's key and server.json (the admin token): its owner's only.
 * An existing home that others may read is tightened to 0700, unless it is not ours or is a shared
 * sticky directory such as /tmp. Returns the mode it had when it was changed.
 */
function tightenHome(home: string): string | undefined {
  const st = fs.statSync(home);
  if ((st.mode & 0o077) === 0 || (st.mode & 0o1000) !== 0) return undefined;
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return undefined;
  fs.chmodSync(home, 0o700);
  return (st.mode & 0o777).toString(8).padStart(4, '0');
}

export function writeServerJson(file: string, info: ServerInfo): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

function removeServerJson(file: string, pid: number): void {
  try {
    const cur = JSON.parse(fs.readFileSync(file, 'utf8')) as { pid?: number };
    if (cur.pid === pid) fs.unlinkSync(file);
  } catch {
    /* already gone */
  }
}

export function readServerJson(file: string): ServerInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ServerInfo;
  } catch {
    return undefined;
  }
}
