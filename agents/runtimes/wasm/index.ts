import { tryParseQuantity } from '../../../lib/model/index.js';
import { MediaType } from '../../../lib/oci/index.js';
import { defineRuntime } from '../runtime.js';

/** `runtimes.wasm` in agent.yaml. */
export interface WasmRuntimeConfig {
  enabled: boolean;
  /** The memory cap of a module whose profile names none. */
  defaultMemory: string;
  /** The runner script (default: located next to the CLI bundle). */
  runner?: string;
}

/** Layer media types accepted as a WASM module: the CNCF wasm artifact layer and its older name. */
export const WASM_LAYER_MEDIA_TYPES: readonly string[] = [MediaType.wasmLayer, MediaType.wasmLayerLegacy];

/**
 * WASM modules (WASI preview1) in a detached runner process per workload (ADR 0201): a Margo `custom`
 * profile with `x-outpost-extensions.runtime: wasm`. The runner restarts a crashed module itself with the
 * agent's backoff; the agent starts a runner again when one is gone.
 */
export const wasmRuntime = defineRuntime<'wasm', WasmRuntimeConfig>({
  kind: 'wasm',
  description: 'WASM modules (WASI preview1) in a runner process per workload',
  profiles: [{ type: 'custom', runtime: 'wasm' }],
  artifactName: 'a WASM module',
  classify(m) {
    const layers = m.layers ?? [];
    const layer = layers.find((l) => WASM_LAYER_MEDIA_TYPES.includes(l.mediaType));
    return layer && (m.config?.mediaType === MediaType.wasmConfig || layers.length === 1)
      ? { kind: 'wasm', layer }
      : undefined;
  },
  config: {
    defaults: () => ({ enabled: true, defaultMemory: '64Mi' }),
    keys: ['enabled', 'defaultMemory', 'runner'],
    parse(v, into, c, field) {
      if (v.enabled !== undefined) into.enabled = c.bool(v.enabled, `${field}.enabled`) ?? into.enabled;
      if (v.defaultMemory !== undefined)
        into.defaultMemory = c.quantity(v.defaultMemory, `${field}.defaultMemory`) ?? into.defaultMemory;
      if (v.runner !== undefined) {
        const r = c.str(v.runner, `${field}.runner`, /^\//, 'an absolute path');
        if (r) into.runner = r;
      }
    },
  },
  capabilities: { deploymentTypes: ['custom'], runtimes: ['custom'], extensionRuntimes: ['wasm'] },
  // The module's linear memory is capped; a worker thread has no CPU quota.
  limits: { memory: true, cpus: false },
  supervises: true,
  async create(ctx, config) {
    const { WasmAdapter } = await import('./wasm-adapter.js');
    return new WasmAdapter({
      stateDir: ctx.stateDir(),
      logger: ctx.logger,
      clock: ctx.clock,
      defaultMemoryBytes: tryParseQuantity(config.defaultMemory) ?? 64 * 2 ** 20,
      restart: ctx.restart,
      ...(config.runner ? { runnerPath: config.runner } : {}),
    });
  },
});
