import fs from 'node:fs';
import type { RuntimeContext } from '../runtime.js';
import type { ContainerEngine } from './engine.js';
import type { ContainerRuntimeConfig } from './index.js';

/**
 * The container engine the container and compose runtimes share (ADR 0204): podman's CLI, unless the
 * configuration says `docker` or (with `auto`) podman is not usable and a Docker API socket is there.
 * One instance per agent.
 */
export function containerEngine(ctx: RuntimeContext): Promise<ContainerEngine> {
  return ctx.shared('container-engine', async () => {
    const c = ctx.sections.container as ContainerRuntimeConfig;
    const { PodmanCliEngine } = await import('./podman-cli-engine.js');
    const podman = new PodmanCliEngine({ binary: c.podman, env: ctx.env });
    const socket = c.dockerSocket ?? '/var/run/docker.sock';
    const docker =
      c.engine === 'docker' || (c.engine === 'auto' && !(await usable(podman)) && fs.existsSync(socket));
    if (!docker) return podman;
    const { DockerApiEngine } = await import('./docker-api-engine.js');
    return new DockerApiEngine({ socketPath: socket });
  });
}

async function usable(engine: ContainerEngine): Promise<boolean> {
  try {
    await engine.version();
    return true;
  } catch {
    return false;
  }
}
