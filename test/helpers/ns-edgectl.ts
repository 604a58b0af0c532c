import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { EDGECTL, serverInfo, type RunResult } from './cli.js';
import { stopChild, type NsHost } from './netns.js';

/** `edgectl ...` inside a namespace host, to completion. */
export function edgectlIn(
  host: NsHost,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return host.run(process.execPath, [EDGECTL, ...args], options);
}

export interface NsServer {
  home: string;
  child: ChildProcess;
  info: { url: string; token: string; pid: number; mmiUrl?: string };
  stderr(): string;
  stop(): Promise<void>;
}

/** `edgectl server --port 0` inside a namespace host, with `config` written to `<home>/config.yaml` first. */
export async function startServerIn(
  host: NsHost,
  home: string,
  config: Record<string, unknown>,
  args: string[] = [],
): Promise<NsServer> {
  fs.mkdirSync(home, { recursive: true });
  // YAML is a superset of JSON: the server reads <home>/config.yaml.
  fs.writeFileSync(path.join(home, 'config.yaml'), JSON.stringify(config));
  const child = host.spawn(process.execPath, [
    EDGECTL,
    'server',
    '--home',
    home,
    '--port',
    '0',
    '--log-level',
    'info',
    ...args,
  ]);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.resume();
  let info: NsServer['info'];
  try {
    info = await serverInfo<NsServer['info']>(home, child, () => err, 60_000);
  } catch (e) {
    await stopChild(child);
    throw new Error(`server did not start in ${host.ns}: ${(e as Error).message}`, { cause: e });
  }
  return { home, child, info, stderr: () => err, stop: () => stopChild(child) };
}
