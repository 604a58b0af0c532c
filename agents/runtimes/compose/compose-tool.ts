import { OutpostError } from '../../../lib/errors/index.js';
import { lastLine, runCommand, type CommandResult } from '../exec.js';
import { RuntimeErrorCode } from '../types.js';

export interface ComposeInvocation {
  project: string;
  /** The project folder (holds compose.yaml and .env); compose runs with it as working directory. */
  dir: string;
  /** Compose files relative to `dir`, in merge order. */
  files: string[];
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onSpawn?: (pid: number) => void;
}

/** The compose front end: podman-compose (Debian 1.0.3 here) or `docker compose` (v2). */
export interface ComposeTool {
  readonly name: 'podman-compose' | 'docker-compose';
  /** Program and leading arguments, e.g. `['docker', 'compose']`. */
  readonly command: readonly string[];
  version(env?: NodeJS.ProcessEnv): Promise<string>;
  up(inv: ComposeInvocation): Promise<CommandResult>;
  /** `volumes`: also remove the project's named volumes (removal yes, an update no). */
  down(inv: ComposeInvocation & { timeoutSec: number; volumes: boolean }): Promise<CommandResult>;
}

/** `-p <project> -f a -f b up -d` / `down [-v] -t N` (exported for tests). */
export function composeArgs(
  inv: Pick<ComposeInvocation, 'project' | 'files'>,
  verb: 'up' | 'down',
  opts: { timeoutSec?: number; volumes?: boolean; tool: ComposeTool['name'] },
): string[] {
  const a = ['-p', inv.project, ...inv.files.flatMap((f) => ['-f', f])];
  if (verb === 'up') a.push('up', '-d', ...(opts.tool === 'docker-compose' ? ['--remove-orphans'] : []));
  else
    a.push(
      'down',
      ...(opts.volumes ? ['-v'] : []),
      '-t',
      String(opts.timeoutSec ?? 10),
      ...(opts.tool === 'docker-compose' ? ['--remove-orphans'] : []),
    );
  return a;
}

class CliComposeTool implements ComposeTool {
  constructor(
    readonly name: ComposeTool['name'],
    readonly command: readonly string[],
    private readonly timeoutMs: number,
  ) {}

  private run(
    args: string[],
    env: NodeJS.ProcessEnv | undefined,
    cwd?: string,
    signal?: AbortSignal,
    timeoutMs?: number,
    onSpawn?: (pid: number) => void,
  ) {
    const [bin, ...pre] = this.command;
    return runCommand(bin!, [...pre, ...args], {
      env,
      cwd,
      signal,
      timeoutMs: timeoutMs ?? this.timeoutMs,
      onSpawn,
      ownProcessGroup: onSpawn !== undefined,
    });
  }

  async version(env?: NodeJS.ProcessEnv): Promise<string> {
    const r = await this.run(['version'], env, undefined, undefined, 15_000);
    const text = `${r.stdout}\n${r.stderr}`;
    if (r.code !== 0) {
      throw new OutpostError(
        RuntimeErrorCode.unavailable,
        `${this.command.join(' ')} is not usable: ${lastLine(r.stderr) || lastLine(r.stdout)}`,
        {
          status: 503,
        },
      );
    }
    const m = /compose\w*\s+version:?\s+v?(\d+\.\d+\.\d+\S*)/i.exec(text);
    return m?.[1] ?? lastLine(r.stdout);
  }

  up(inv: ComposeInvocation): Promise<CommandResult> {
    return this.run(
      composeArgs(inv, 'up', { tool: this.name }),
      inv.env,
      inv.dir,
      inv.signal,
      undefined,
      inv.onSpawn,
    );
  }

  down(inv: ComposeInvocation & { timeoutSec: number; volumes: boolean }): Promise<CommandResult> {
    return this.run(
      composeArgs(inv, 'down', { tool: this.name, timeoutSec: inv.timeoutSec, volumes: inv.volumes }),
      inv.env,
      inv.dir,
      inv.signal,
    );
  }
}

/** podman-compose (default binary `podman-compose`). */
export function podmanCompose(binary = 'podman-compose', timeoutMs = 10 * 60_000): ComposeTool {
  return new CliComposeTool('podman-compose', [binary], timeoutMs);
}

/** `docker compose` (v2 plugin). */
export function dockerCompose(binary = 'docker', timeoutMs = 10 * 60_000): ComposeTool {
  return new CliComposeTool('docker-compose', [binary, 'compose'], timeoutMs);
}
