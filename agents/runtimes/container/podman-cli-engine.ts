import os from 'node:os';
import { OutpostError } from '../../../lib/errors/index.js';
import { checkCommand, lastLine, runCommand, type CommandResult } from '../exec.js';
import { RuntimeErrorCode } from '../types.js';
import { fromInspect, type ContainerCreateSpec, type ContainerEngine, type ContainerInfo } from './engine.js';

export interface PodmanCliOptions {
  /** The podman binary (default `podman` on PATH). */
  binary?: string;
  /** Environment for podman (e.g. with CONTAINERS_CONF); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Timeout of quick commands (default 60 s); pulls get `pullTimeoutMs` (default 30 min). */
  timeoutMs?: number;
  pullTimeoutMs?: number;
}

/** The argument vector of `podman create` for a spec (exported for tests). */
export function podmanCreateArgs(spec: ContainerCreateSpec): string[] {
  const a = ['create', '--replace', '--name', spec.name, '--pull', 'never'];
  for (const [k, v] of Object.entries(spec.labels)) a.push('--label', `${k}=${v}`);
  for (const [k, v] of Object.entries(spec.env)) a.push('--env', `${k}=${v}`);
  if (spec.memoryBytes !== undefined) a.push('--memory', `${spec.memoryBytes}b`);
  if (spec.cpus !== undefined) a.push('--cpus', String(spec.cpus));
  const r = spec.restart;
  a.push(
    '--restart',
    r.name === 'on-failure' && r.maxRetries !== undefined ? `on-failure:${r.maxRetries}` : r.name,
  );
  if (spec.network) a.push('--network', spec.network);
  for (const p of spec.publish ?? []) a.push('--publish', p);
  a.push(spec.image, ...(spec.args ?? []));
  return a;
}

export class PodmanCliEngine implements ContainerEngine {
  readonly name = 'podman' as const;
  private readonly bin: string;

  constructor(private readonly opts: PodmanCliOptions = {}) {
    this.bin = opts.binary ?? 'podman';
  }

  private run(
    args: string[],
    extra: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<CommandResult> {
    return runCommand(this.bin, args, {
      env: this.opts.env,
      // conmon keeps podman's working directory and writes files there (e.g. `oom` when a container is
      // killed for memory): never the agent's own directory.
      cwd: os.tmpdir(),
      timeoutMs: extra.timeoutMs ?? this.opts.timeoutMs ?? 60_000,
      signal: extra.signal,
    });
  }

  async version(): Promise<{ version: string; detail?: string }> {
    const r = await this.run(
      ['info', '--format', '{{.Version.Version}} {{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}'],
      {
        timeoutMs: 10_000,
      },
    );
    if (r.code !== 0) {
      throw new OutpostError(
        RuntimeErrorCode.unavailable,
        `podman is installed but not usable: ${lastLine(r.stderr)}`,
        {
          status: 503,
        },
      );
    }
    const [version = '', runtime, cgroups] = r.stdout.trim().split(' ');
    return { version, detail: `runtime ${runtime}, cgroup manager ${cgroups}` };
  }

  async inspect(nameOrId: string): Promise<ContainerInfo | undefined> {
    const r = await this.run(['container', 'inspect', nameOrId]);
    if (r.code !== 0) {
      if (/no such container/i.test(r.stderr)) return undefined;
      checkCommand(`podman container inspect ${nameOrId}`, r);
    }
    const arr = JSON.parse(r.stdout) as Record<string, unknown>[];
    return arr[0] ? fromInspect(arr[0]) : undefined;
  }

  async list(labels: Record<string, string>): Promise<ContainerInfo[]> {
    const filters = Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]);
    const ids = checkCommand('podman ps', await this.run(['ps', '-a', '-q', '--no-trunc', ...filters]))
      .stdout.split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) return [];
    const r = await this.run(['container', 'inspect', ...ids]);
    // A container may vanish between ps and inspect: podman then fails for all; inspect one by one.
    if (r.code !== 0) {
      const out: ContainerInfo[] = [];
      for (const id of ids) {
        const c = await this.inspect(id);
        if (c) out.push(c);
      }
      return out;
    }
    return (JSON.parse(r.stdout) as Record<string, unknown>[]).map(fromInspect);
  }

  async imageExists(ref: string): Promise<boolean> {
    return (await this.run(['image', 'exists', ref])).code === 0;
  }

  async pull(
    ref: string,
    opts: { tlsVerify: boolean; certDir?: string; signal?: AbortSignal },
  ): Promise<void> {
    const args = [
      'pull',
      '--quiet',
      ...(opts.tlsVerify ? [] : ['--tls-verify=false']),
      ...(opts.certDir ? ['--cert-dir', opts.certDir] : []),
      ref,
    ];
    checkCommand(
      `podman pull ${ref}`,
      await this.run(args, { timeoutMs: this.opts.pullTimeoutMs ?? 30 * 60_000, signal: opts.signal }),
    );
  }

  async create(spec: ContainerCreateSpec, signal?: AbortSignal): Promise<string> {
    const r = checkCommand(`podman create ${spec.name}`, await this.run(podmanCreateArgs(spec), { signal }));
    return lastLine(r.stdout);
  }

  async start(id: string): Promise<void> {
    checkCommand(`podman start ${id}`, await this.run(['start', id]));
  }

  async stop(id: string, timeoutSec: number): Promise<void> {
    const r = await this.run(['stop', '-t', String(timeoutSec), id], { timeoutMs: (timeoutSec + 30) * 1000 });
    if (r.code !== 0 && !/no such container/i.test(r.stderr)) checkCommand(`podman stop ${id}`, r);
  }

  async remove(id: string): Promise<void> {
    const r = await this.run(['rm', '-f', '-v', '-t', '0', id]);
    if (r.code !== 0 && !/no such container/i.test(r.stderr)) checkCommand(`podman rm ${id}`, r);
  }

  async removeImage(ref: string): Promise<boolean> {
    return (await this.run(['rmi', ref])).code === 0;
  }

  private async names(kind: 'network' | 'volume', labels: Record<string, string>): Promise<string[]> {
    const filters = Object.entries(labels).flatMap(([k, v]) => ['--filter', `label=${k}=${v}`]);
    const r = checkCommand(
      `podman ${kind} ls`,
      await this.run([kind, 'ls', ...filters, '--format', '{{.Name}}']),
    );
    return r.stdout
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  networks(labels: Record<string, string>): Promise<string[]> {
    return this.names('network', labels);
  }

  async removeNetwork(name: string): Promise<void> {
    const r = await this.run(['network', 'rm', '-f', name]);
    if (r.code !== 0 && !/unable to find|no such network|not found/i.test(r.stderr))
      checkCommand(`podman network rm ${name}`, r);
  }

  volumes(labels: Record<string, string>): Promise<string[]> {
    return this.names('volume', labels);
  }

  async removeVolume(name: string): Promise<void> {
    const r = await this.run(['volume', 'rm', '-f', name]);
    if (r.code !== 0 && !/no such volume|not found/i.test(r.stderr))
      checkCommand(`podman volume rm ${name}`, r);
  }
}
