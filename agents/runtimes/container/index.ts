import fs from 'node:fs';
import { MediaType } from '../../../lib/oci/index.js';
import { runCommand } from '../exec.js';
import { defineRuntime, type RuntimeProbe } from '../runtime.js';
import { containerEngine } from './engines.js';

/** `runtimes.container` in agent.yaml (also the engine compose uses). */
export interface ContainerRuntimeConfig {
  enabled: boolean;
  engine: 'auto' | 'podman' | 'docker';
  podman: string;
  dockerSocket?: string;
  /** Remove a workload's image with it when nothing else uses it (nothing is left behind). */
  removeImages: boolean;
}

const IMAGE_CONFIGS: readonly string[] = [MediaType.ociConfig, MediaType.dockerConfig];

/**
 * One container per workload through podman (or a Docker API socket): a component of a Margo `compose`
 * profile whose artifact is a container image, the one service such a profile would describe (ADR 0266).
 * The agent restarts it (podman's own restart policy is off, ADR 0207).
 */
export const containerRuntime = defineRuntime<'container', ContainerRuntimeConfig>({
  kind: 'container',
  description: 'a container per workload through podman or the Docker API',
  profiles: [{ type: 'compose' }],
  artifactName: 'a container image',
  classify(m) {
    return m.config?.mediaType && IMAGE_CONFIGS.includes(m.config.mediaType) ? { kind: 'image' } : undefined;
  },
  config: {
    defaults: () => ({ enabled: true, engine: 'auto', podman: 'podman', removeImages: true }),
    keys: ['enabled', 'engine', 'podman', 'dockerSocket', 'removeImages'],
    parse(v, into, c, field) {
      if (v.removeImages !== undefined)
        into.removeImages = c.bool(v.removeImages, `${field}.removeImages`) ?? into.removeImages;
      if (v.enabled !== undefined) into.enabled = c.bool(v.enabled, `${field}.enabled`) ?? into.enabled;
      if (v.engine !== undefined)
        into.engine =
          c.oneOf(v.engine, `${field}.engine`, ['auto', 'podman', 'docker'] as const) ?? into.engine;
      if (v.podman !== undefined) into.podman = c.str(v.podman, `${field}.podman`) ?? into.podman;
      if (v.dockerSocket !== undefined) {
        const s = c.str(v.dockerSocket, `${field}.dockerSocket`);
        if (s) into.dockerSocket = s;
      }
    },
  },
  capabilities: { deploymentTypes: ['compose'], runtimes: ['oci'] },
  limits: { memory: true, cpus: true },
  supervises: false,
  async create(ctx, config) {
    const [{ ContainerAdapter }, engine] = await Promise.all([
      import('./container-adapter.js'),
      containerEngine(ctx),
    ]);
    return new ContainerAdapter({
      engine,
      logger: ctx.logger,
      clock: ctx.clock,
      instance: ctx.instance,
      removeImages: config.removeImages,
    });
  },
  others: (ctx) => otherEngines(ctx.env),
});

/** Container engines we have no adapter for, reported so the operator sees what the host offers. */
async function otherEngines(env: NodeJS.ProcessEnv): Promise<RuntimeProbe[]> {
  const sock = '/run/containerd/containerd.sock';
  if (!fs.existsSync(sock)) return [];
  const r = await runCommand('ctr', ['--address', sock, 'version'], { env, timeoutMs: 5_000 }).catch(
    () => undefined,
  );
  const v = r?.code === 0 ? /Version:\s*v?(\S+)/.exec(r.stdout)?.[1] : undefined;
  return [
    {
      name: 'containerd',
      available: false,
      ...(v ? { version: v } : {}),
      detail: 'found; Outpost runs containers through podman or the Docker API',
    },
  ];
}
