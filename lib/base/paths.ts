import os from 'node:os';
import path from 'node:path';

/**
 * Every file the control plane touches lives under one data directory (the "home").
 * Resolution order: an explicit `--home`, then `EDGE_HOME`, then a per-user default.
 */
export interface Paths {
  readonly home: string;
  readonly configFile: string;
  readonly dbFile: string;
  readonly runDir: string;
  /** `{url, token, pid, ...}` written once the server listens (mode 0600). */
  readonly serverJson: string;
  /** Held by the running server (single instance per home). */
  readonly lockFile: string;
  readonly logsDir: string;
  /** The deployments repository (CO writes, LOs follow). */
  readonly gitDir: string;
  /** LO mirror(s) of the deployments repository. */
  readonly mirrorsDir: string;
  readonly natsDir: string;
  readonly pkiDir: string;
  /** Content-addressed blobs (bundles, YAML, OCI blobs): `blobs/sha256/<hex>`. */
  readonly blobsDir: string;
  readonly cacheDir: string;
  readonly tmpDir: string;
}

export function defaultHome(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  const h = os.homedir();
  if (platform === 'darwin') return path.join(h, 'Library', 'Application Support', 'Outpost');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(h, 'AppData', 'Roaming'), 'Outpost');
  return path.join(env.XDG_DATA_HOME ?? path.join(h, '.local', 'share'), 'outpost');
}

export function resolveHome(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = explicit ?? env.EDGE_HOME ?? defaultHome(env);
  return path.resolve(chosen);
}

export function createPaths(home: string): Paths {
  const h = path.resolve(home);
  const run = path.join(h, 'run');
  return {
    home: h,
    configFile: path.join(h, 'config.yaml'),
    dbFile: path.join(h, 'outpost.db'),
    runDir: run,
    serverJson: path.join(run, 'server.json'),
    lockFile: path.join(run, 'server.lock'),
    logsDir: path.join(h, 'logs'),
    gitDir: path.join(h, 'git', 'deployments'),
    mirrorsDir: path.join(h, 'git', 'mirrors'),
    natsDir: path.join(h, 'nats'),
    pkiDir: path.join(h, 'pki'),
    blobsDir: path.join(h, 'blobs'),
    cacheDir: path.join(h, 'cache'),
    tmpDir: path.join(h, 'tmp'),
  };
}
