import fs from 'node:fs';
import type { Command } from 'commander';
import { createPaths, resolveHome } from '../../lib/base/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { contract, type Contract, createClient, createHttpTransport } from '../../lib/contract/index.js';
import type { ClientOf } from '../../lib/contract/index.js';

export interface GlobalOptions {
  home?: string;
  server?: string;
  token?: string;
  tenant?: string;
  debug?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export interface Connection {
  client: ClientOf<Contract>;
  url: string;
  token: string;
  tenant?: string | undefined;
}

/**
 * Finds the server: `--server URL --token T` (or EDGE_SERVER / EDGE_TOKEN), otherwise
 * `<home>/run/server.json`. Says in one line what is missing when nothing runs.
 */
export function connect(opts: GlobalOptions): Connection {
  let url = opts.server ?? process.env.EDGE_SERVER;
  let token = opts.token ?? process.env.EDGE_TOKEN;
  if (!url) {
    const paths = createPaths(resolveHome(opts.home));
    let info: { url?: string; token?: string; pid?: number } | undefined;
    try {
      info = JSON.parse(fs.readFileSync(paths.serverJson, 'utf8')) as typeof info;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new OutpostError(
          'server-not-running',
          `no Outpost server is running for ${paths.home} (start one with "edgectl server"; for a server started with --home DIR, pass the same --home DIR or set EDGE_HOME=DIR; or pass --server URL --token T)`,
        );
      }
      throw new OutpostError(
        'server-not-running',
        `cannot read ${paths.serverJson}: ${(err as Error).message}`,
      );
    }
    if (!info?.url || !info.token)
      throw new OutpostError('server-not-running', `${paths.serverJson} is incomplete`);
    if (info.pid && !isAlive(info.pid)) {
      throw new OutpostError(
        'server-not-running',
        `the Outpost server for ${paths.home} is not running (pid ${info.pid} has exited); start it with "edgectl server"`,
      );
    }
    url = info.url;
    token ??= info.token;
  }
  if (!token) throw new OutpostError('unauthorized', 'no API token: pass --token or set EDGE_TOKEN');
  const transport = createHttpTransport({ baseUrl: url, token });
  const tenant = opts.tenant;
  const base = createClient(contract, transport);
  const client = tenant ? withTenant(base, tenant) : base;
  return { client, url, token, tenant };
}

function withTenant(client: ClientOf<Contract>, tenant: string): ClientOf<Contract> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [svc, methods] of Object.entries(
    client as Record<string, Record<string, (i?: unknown, o?: object) => unknown>>,
  )) {
    out[svc] = {};
    for (const [name, fn] of Object.entries(methods))
      out[svc][name] = (input?: unknown, o?: object) => fn(input, { ...o, tenant });
  }
  return out as ClientOf<Contract>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
