import { MediaType } from '../../../lib/oci/index.js';
import { containerEngine } from '../container/engines.js';
import { defineRuntime } from '../runtime.js';

/** `runtimes.compose` in agent.yaml (the engine is the one of `runtimes.container`). */
export interface ComposeRuntimeConfig {
  enabled: boolean;
  tool: 'auto' | 'podman-compose' | 'docker-compose';
}

/** Media types accepted as a compose archive (Margo's layer type, and plain tar+gzip). */
export const COMPOSE_LAYER_MEDIA_TYPES: readonly string[] = [
  MediaType.composeLayer,
  MediaType.ociLayerTarGzip,
  MediaType.gzip,
  MediaType.xGzip,
];

/**
 * Margo compose archives (ADR 0202): a component of a `compose` profile whose artifact is a compose
 * archive, brought up as a project with podman-compose or `docker compose`. The agent restarts its
 * services (their own restart policies are overridden, ADR 0207).
 */
export const composeRuntime = defineRuntime<'compose', ComposeRuntimeConfig>({
  kind: 'compose',
  description: 'Margo compose archives through podman-compose or docker compose',
  profiles: [{ type: 'compose' }],
  artifactName: 'a compose archive',
  classify(m) {
    const layer = (m.layers ?? []).find((l) => l.mediaType === MediaType.composeLayer);
    return layer ? { kind: 'compose', layer } : undefined;
  },
  config: {
    defaults: () => ({ enabled: true, tool: 'auto' }),
    keys: ['enabled', 'tool'],
    parse(v, into, c, field) {
      if (v.enabled !== undefined) into.enabled = c.bool(v.enabled, `${field}.enabled`) ?? into.enabled;
      if (v.tool !== undefined)
        into.tool =
          c.oneOf(v.tool, `${field}.tool`, ['auto', 'podman-compose', 'docker-compose'] as const) ??
          into.tool;
    },
  },
  capabilities: { deploymentTypes: ['compose'], runtimes: ['oci'] },
  limits: { memory: true, cpus: true },
  supervises: false,
  async create(ctx, config) {
    const [{ ComposeAdapter }, { dockerCompose, podmanCompose }, engine] = await Promise.all([
      import('./compose-adapter.js'),
      import('./compose-tool.js'),
      containerEngine(ctx),
    ]);
    const tool =
      config.tool === 'auto' ? (engine.name === 'podman' ? 'podman-compose' : 'docker-compose') : config.tool;
    return new ComposeAdapter({
      stateDir: ctx.stateDir(),
      engine,
      tool: tool === 'podman-compose' ? podmanCompose() : dockerCompose(),
      logger: ctx.logger,
      clock: ctx.clock,
      instance: ctx.instance,
      env: ctx.env,
    });
  },
});
