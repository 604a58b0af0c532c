import type { Client } from 'undici';
import { OutpostError } from '../../../lib/errors/index.js';
import { RuntimeErrorCode } from '../types.js';
import { fromInspect, type ContainerCreateSpec, type ContainerEngine, type ContainerInfo } from './engine.js';

export interface DockerApiOptions {
  /** Unix socket of the Docker Engine API (default /var/run/docker.sock; podman: `podman system service`). */
  socketPath?: string;
  /** API version prefix (default v1.41, which dockerd ≥ 20.10 and podman's compat API both serve). */
  apiVersion?: string;
  /** Per-request timeout (default 60 s; pulls 30 min). */
  timeoutMs?: number;
  /**
   * Ulimits for every create: podman's compat API refuses creates without them on these machines
   * (test/helpers/podman.ts); dockerd accepts them too. Default nofile 1024:20000, nproc 4096:4096.
   */
  ulimits?: { Name: string; Soft: number; Hard: number }[];
}

/** `[ip:]hostPort:containerPort[/proto]` → Engine API PortBindings / ExposedPorts. */
export function portBindings(publish: readonly string[]): {
  PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
  ExposedPorts: Record<string, Record<string, never>>;
} {
  const PortBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  const ExposedPorts: Record<string, Record<string, never>> = {};
  for (const p of publish) {
    const m =
      /^(?:(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(p);
    if (!m)
      throw new OutpostError(
        RuntimeErrorCode.invalidSpec,
        `publish entry ${JSON.stringify(p)} is not [ip:]hostPort:containerPort[/proto]`,
        { status: 400 },
      );
    const key = `${m[3]}/${m[4] ?? 'tcp'}`;
    (PortBindings[key] ??= []).push({ HostIp: (m[1] ?? '').replace(/^\[|\]$/g, ''), HostPort: m[2]! });
    ExposedPorts[key] = {};
  }
  return { PortBindings, ExposedPorts };
}

/** The create body for a spec (exported for tests). */
export function dockerCreateBody(
  spec: ContainerCreateSpec,
  ulimits: DockerApiOptions['ulimits'],
): Record<string, unknown> {
  const ports = portBindings(spec.publish ?? []);
  return {
    Image: spec.image,
    ...(spec.args?.length ? { Cmd: spec.args } : {}),
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: spec.labels,
    ExposedPorts: ports.ExposedPorts,
    HostConfig: {
      ...(spec.memoryBytes !== undefined ? { Memory: spec.memoryBytes } : {}),
      ...(spec.cpus !== undefined ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
      RestartPolicy: {
        Name: spec.restart.name === 'no' ? '' : spec.restart.name,
        ...(spec.restart.maxRetries !== undefined ? { MaximumRetryCount: spec.restart.maxRetries } : {}),
      },
      ...(spec.network ? { NetworkMode: spec.network } : {}),
      PortBindings: ports.PortBindings,
      Ulimits: ulimits,
    },
  };
}

/**
 * The Docker Engine API over a unix socket (no docker CLI needed). Insecure (plain-HTTP) registries
 * are a daemon setting there (`insecure-registries`), not a per-pull flag: `tlsVerify: false` is ignored,
 * and so is `certDir` (the daemon reads a registry's certificates from /etc/docker/certs.d/<host:port>/).
 */
export class DockerApiEngine implements ContainerEngine {
  readonly name = 'docker-api' as const;
  // undici is loaded when the engine is first used (see lib/oci/transport.ts for why).
  private client: Promise<Client> | undefined;
  private readonly prefix: string;
  private readonly ulimits: NonNullable<DockerApiOptions['ulimits']>;

  constructor(private readonly opts: DockerApiOptions = {}) {
    this.prefix = `/${opts.apiVersion ?? 'v1.41'}`;
    this.ulimits = opts.ulimits ?? [
      { Name: 'nofile', Soft: 1024, Hard: 20000 },
      { Name: 'nproc', Soft: 4096, Hard: 4096 },
    ];
  }

  private connection(): Promise<Client> {
    return (this.client ??= import('undici').then(
      ({ Client }) =>
        new Client('http://localhost', { socketPath: this.opts.socketPath ?? '/var/run/docker.sock' }),
    ));
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await (await c)?.close();
  }

  private async call(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    opts: { body?: unknown; ok?: number[]; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<{ status: number; body: string }> {
    let res;
    try {
      res = await (
        await this.connection()
      ).request({
        method,
        path: this.prefix + path,
        headers: opts.body === undefined ? {} : { 'content-type': 'application/json' },
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        headersTimeout: opts.timeoutMs ?? this.opts.timeoutMs ?? 60_000,
        bodyTimeout: opts.timeoutMs ?? this.opts.timeoutMs ?? 60_000,
        signal: opts.signal,
      });
    } catch (e) {
      throw new OutpostError(
        RuntimeErrorCode.unavailable,
        `the Docker API at ${this.opts.socketPath ?? '/var/run/docker.sock'} is not reachable: ${(e as Error).message}`,
        { cause: e, status: 503 },
      );
    }
    const body = await res.body.text();
    if (!(opts.ok ?? [200, 201, 204]).includes(res.statusCode)) {
      let msg = body.trim();
      try {
        msg = (JSON.parse(body) as { message?: string }).message ?? msg;
      } catch {
        // not JSON
      }
      throw new OutpostError(
        RuntimeErrorCode.commandFailed,
        `Docker API ${method} ${path.split('?')[0]} failed (${res.statusCode}): ${msg}`,
        {
          status: 502,
          data: { statusCode: res.statusCode },
        },
      );
    }
    return { status: res.statusCode, body };
  }

  async version(): Promise<{ version: string; detail?: string }> {
    const v = JSON.parse((await this.call('GET', '/version', { timeoutMs: 10_000 })).body) as {
      Version?: string;
      ApiVersion?: string;
      Components?: { Name?: string }[];
    };
    return {
      version: v.Version ?? '',
      detail: `API ${v.ApiVersion ?? '?'}${v.Components?.[0]?.Name ? `, ${v.Components[0].Name}` : ''}`,
    };
  }

  async inspect(nameOrId: string): Promise<ContainerInfo | undefined> {
    const r = await this.call('GET', `/containers/${encodeURIComponent(nameOrId)}/json`, { ok: [200, 404] });
    return r.status === 404 ? undefined : fromInspect(JSON.parse(r.body) as Record<string, unknown>);
  }

  async list(labels: Record<string, string>): Promise<ContainerInfo[]> {
    const r = await this.call('GET', `/containers/json?all=true&filters=${this.labelFilter(labels)}`);
    const out: ContainerInfo[] = [];
    for (const c of JSON.parse(r.body) as { Id: string }[]) {
      const info = await this.inspect(c.Id);
      if (info) out.push(info);
    }
    return out;
  }

  async imageExists(ref: string): Promise<boolean> {
    return (
      (await this.call('GET', `/images/${encodeURIComponent(ref)}/json`, { ok: [200, 404] })).status === 200
    );
  }

  async pull(
    ref: string,
    opts: { tlsVerify: boolean; certDir?: string; signal?: AbortSignal },
  ): Promise<void> {
    const r = await this.call('POST', `/images/create?fromImage=${encodeURIComponent(ref)}`, {
      timeoutMs: 30 * 60_000,
      signal: opts.signal,
    });
    // The pull streams JSON progress lines; a failure arrives as a line with `error`, under status 200.
    for (const line of r.body.split('\n')) {
      if (!line.trim()) continue;
      let m: { error?: string; errorDetail?: { message?: string } };
      try {
        m = JSON.parse(line) as typeof m;
      } catch {
        continue;
      }
      if (m.error)
        throw new OutpostError(
          RuntimeErrorCode.commandFailed,
          `pull of ${ref} failed: ${m.errorDetail?.message ?? m.error}`,
          { status: 502 },
        );
    }
  }

  async create(spec: ContainerCreateSpec, signal?: AbortSignal): Promise<string> {
    const existing = await this.inspect(spec.name);
    if (existing) await this.remove(existing.id);
    const r = await this.call('POST', `/containers/create?name=${encodeURIComponent(spec.name)}`, {
      body: dockerCreateBody(spec, this.ulimits),
      signal,
    });
    return (JSON.parse(r.body) as { Id: string }).Id;
  }

  async start(id: string): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(id)}/start`, { ok: [204, 304] });
  }

  async stop(id: string, timeoutSec: number): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(id)}/stop?t=${timeoutSec}`, {
      ok: [204, 304, 404],
      timeoutMs: (timeoutSec + 30) * 1000,
    });
  }

  async remove(id: string): Promise<void> {
    await this.call('DELETE', `/containers/${encodeURIComponent(id)}?force=true&v=true`, {
      ok: [200, 204, 404],
    });
  }

  async removeImage(ref: string): Promise<boolean> {
    const r = await this.call('DELETE', `/images/${encodeURIComponent(ref)}`, { ok: [200, 404, 409] });
    return r.status === 200;
  }

  private labelFilter(labels: Record<string, string>): string {
    return encodeURIComponent(JSON.stringify({ label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) }));
  }

  async networks(labels: Record<string, string>): Promise<string[]> {
    const r = await this.call('GET', `/networks?filters=${this.labelFilter(labels)}`);
    return (JSON.parse(r.body) as { Name: string }[]).map((n) => n.Name);
  }

  async removeNetwork(name: string): Promise<void> {
    await this.call('DELETE', `/networks/${encodeURIComponent(name)}`, { ok: [200, 204, 404] });
  }

  async volumes(labels: Record<string, string>): Promise<string[]> {
    const r = await this.call('GET', `/volumes?filters=${this.labelFilter(labels)}`);
    return ((JSON.parse(r.body) as { Volumes?: { Name: string }[] | null }).Volumes ?? []).map((v) => v.Name);
  }

  async removeVolume(name: string): Promise<void> {
    await this.call('DELETE', `/volumes/${encodeURIComponent(name)}?force=true`, { ok: [200, 204, 404] });
  }
}
