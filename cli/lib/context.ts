import fs from 'node:fs';
import type { Command } from 'commander';
import { createPaths, resolveHome } from '../../lib/base/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { COMMAND_CHANNELS, createChannelClient, createHttpTransport } from '../../lib/contract/index.js';
import type { ClientOf, Contract } from '../../lib/contract/index.js';
import { httpFetch } from './http-fetch.js';
import { withIdempotentRetry } from './retry.js';

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
  const transport = withIdempotentRetry(
    createHttpTransport({ baseUrl: url, token, fetch: httpFetch, client: 'cli' }),
    COMMAND_CHANNELS,
  );
  const tenant = opts.tenant;
  // Calls by channel name: starting a command does not load the contract's schemas.
  const client = createChannelClient<Contract>(transport, tenant ? { tenant } : {});
  return { client, url, token, tenant };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
