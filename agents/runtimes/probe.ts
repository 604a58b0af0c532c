import fs from 'node:fs';
import { DockerApiEngine } from './container/docker-api-engine.js';
import { PodmanCliEngine } from './container/podman-cli-engine.js';
import { dockerCompose, podmanCompose } from './compose/compose-tool.js';
import { lastLine, runCommand } from './exec.js';
import type { ProbeResult } from './types.js';
import { probeWasm } from './wasm/probe-wasm.js';

/** What is really usable on this host, for the agent's capability report (and the adapters' choice). */
export interface RuntimeProbe {
  podman: ProbeResult;
  /** The docker CLI with a reachable daemon. */
  docker: ProbeResult;
  /** The Docker Engine API socket (dockerd, or podman's compat service). */
  dockerApi: ProbeResult;
  /** containerd through nerdctl (preferred) or ctr. */
  containerd: ProbeResult;
  podmanCompose: ProbeResult;
  dockerCompose: ProbeResult;
  /** helm with a reachable cluster. */
  helm: ProbeResult;
  /** Our own WASM runtime (node:wasi + the bundled runner). */
  wasm: ProbeResult;
}

export interface ProbeOptions {
  /** Environment for the probed tools (e.g. with CONTAINERS_CONF). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Per-probe timeout (default 5 s). */
  timeoutMs?: number;
  binaries?: Partial<Record<'podman' | 'docker' | 'nerdctl' | 'ctr' | 'helm' | 'podmanCompose', string>>;
  dockerSocket?: string;
  wasmRunnerPath?: string;
}

async function tool(
  bin: string,
  args: string[],
  opts: ProbeOptions,
  parse: (stdout: string) => string = (s) => lastLine(s),
): Promise<ProbeResult> {
  try {
    const r = await runCommand(bin, args, { env: opts.env, timeoutMs: opts.timeoutMs ?? 5000 });
    if (r.code !== 0)
      return {
        available: false,
        detail: `${bin} ${args[0]}: ${lastLine(r.stderr) || lastLine(r.stdout) || `exit ${r.code}`}`,
      };
    return { available: true, version: parse(r.stdout) };
  } catch (e) {
    return { available: false, detail: (e as Error).message };
  }
}

/**
 * Probes every runtime in parallel with short timeouts; never throws. "Available" means usable, not
 * merely installed: podman must run `podman info`, docker must reach its daemon, helm a cluster.
 */
export async function probeRuntimes(opts: ProbeOptions = {}): Promise<RuntimeProbe> {
  const b = opts.binaries ?? {};
  const podman = async (): Promise<ProbeResult> => {
    try {
      const v = await new PodmanCliEngine({
        binary: b.podman,
        env: opts.env,
        timeoutMs: opts.timeoutMs ?? 5000,
      }).version();
      return { available: true, version: v.version, detail: v.detail };
    } catch (e) {
      return { available: false, detail: (e as Error).message };
    }
  };
  const dockerApi = async (): Promise<ProbeResult> => {
    const socketPath = opts.dockerSocket ?? '/var/run/docker.sock';
    if (!fs.existsSync(socketPath))
      return { available: false, detail: `no Docker API socket at ${socketPath}` };
    const engine = new DockerApiEngine({ socketPath, timeoutMs: opts.timeoutMs ?? 5000 });
    try {
      const v = await engine.version();
      return { available: true, version: v.version, detail: v.detail };
    } catch (e) {
      return { available: false, detail: (e as Error).message };
    } finally {
      await engine.close();
    }
  };
  const containerd = async (): Promise<ProbeResult> => {
    const n = await tool(
      b.nerdctl ?? 'nerdctl',
      ['version', '--format', '{{.Server.Components}}'],
      opts,
      (s) => {
        return /containerd\S*\s+(?:Version:)?\s*v?(\d+\.\d+\.\d+)/.exec(s)?.[1] ?? lastLine(s);
      },
    );
    if (n.available) return { ...n, detail: 'nerdctl' };
    const c = await tool(
      b.ctr ?? 'ctr',
      ['version'],
      opts,
      (s) => /Server:[\s\S]*?Version:\s*v?(\S+)/.exec(s)?.[1] ?? lastLine(s),
    );
    return c.available ? { ...c, detail: 'ctr' } : { available: false, detail: `${n.detail}; ${c.detail}` };
  };
  const helm = async (): Promise<ProbeResult> => {
    const v = await tool(b.helm ?? 'helm', ['version', '--short'], opts, (s) =>
      lastLine(s).replace(/^v/, '').replace(/\+.*$/, ''),
    );
    if (!v.available) return v;
    const l = await tool(
      b.helm ?? 'helm',
      ['list', '--all-namespaces', '--max', '1', '--output', 'json'],
      opts,
    );
    return l.available
      ? v
      : { available: false, version: v.version, detail: `no Kubernetes cluster reachable: ${l.detail}` };
  };
  const compose = async (t: ReturnType<typeof podmanCompose>): Promise<ProbeResult> => {
    try {
      return { available: true, version: await t.version(opts.env) };
    } catch (e) {
      return { available: false, detail: (e as Error).message };
    }
  };
  const [podmanR, docker, dockerApiR, containerdR, podmanComposeR, dockerComposeR, helmR, wasm] =
    await Promise.all([
      podman(),
      tool(b.docker ?? 'docker', ['version', '--format', '{{.Server.Version}}'], opts),
      dockerApi(),
      containerd(),
      compose(podmanCompose(b.podmanCompose)),
      compose(dockerCompose(b.docker)),
      helm(),
      probeWasm(opts.wasmRunnerPath),
    ]);
  return {
    podman: podmanR,
    docker,
    dockerApi: dockerApiR,
    containerd: containerdR,
    podmanCompose: podmanComposeR,
    dockerCompose: dockerComposeR,
    helm: helmR,
    wasm,
  };
}

/**
 * What the node can run, in Margo capability terms: the deployment types (`compose`, `helm`,
 * `custom`), the runtimes (`oci` when a container engine works, `custom` for our own), and the
 * `x-outpost-extensions` runtimes (`wasm`). Ocre is reported by its own adapter.
 */
export function capabilitiesFromProbe(p: RuntimeProbe): {
  supportedDeploymentTypes: ('compose' | 'helm' | 'custom')[];
  supportedRuntimes: ('oci' | 'custom')[];
  extensionRuntimes: 'wasm'[];
} {
  const containers = p.podman.available || p.docker.available || p.dockerApi.available;
  const compose =
    (p.podman.available && p.podmanCompose.available) || (p.docker.available && p.dockerCompose.available);
  const types: ('compose' | 'helm' | 'custom')[] = [];
  if (compose) types.push('compose');
  if (p.helm.available) types.push('helm');
  if (p.wasm.available || containers) types.push('custom');
  return {
    supportedDeploymentTypes: types,
    supportedRuntimes: [
      ...(containers ? (['oci'] as const) : []),
      ...(p.wasm.available ? (['custom'] as const) : []),
    ],
    extensionRuntimes: p.wasm.available ? ['wasm'] : [],
  };
}
