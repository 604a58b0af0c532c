import { defineRuntime } from '../runtime.js';
import { WASM_LAYER_MEDIA_TYPES } from '../wasm/index.js';
import { MediaType } from '../../../lib/oci/index.js';
import { defaultOcreConfig, OCRE_CONFIG_KEYS, parseOcreConfig, type OcreRuntimeConfig } from './config.js';

export {
  KNOWN_BOARDS,
  boardByName,
  boardByUsb,
  knownBoardOnUsb,
  recogniseBoards,
  listSerialPorts,
  type KnownBoard,
} from './boards.js';
export { parseMcus, MCU_NAME, type McuConfig, type OcreRuntimeConfig } from './config.js';
export type { McuEvent, McuState } from './mcu-link.js';
export type { McuFleet } from './mcu-fleet.js';
export type { OcreAdapter } from './ocre-adapter.js';

/**
 * WASM modules as Ocre containers on microcontrollers attached by serial line (ADR 0441): a Margo
 * `custom` profile with `x-outpost-extensions.runtime: ocre`, its component a WASM module. The host
 * itself offers nothing of it (no label, no runtime in its capabilities): each MCU is a child device
 * `<host>/<mcu>` with its own capabilities, reported by the agent's `mcus` module.
 */
export const ocreRuntime = defineRuntime<'ocre', OcreRuntimeConfig>({
  kind: 'ocre',
  description: 'WASM modules as Ocre containers on microcontrollers over SMP (serial)',
  profiles: [{ type: 'custom', runtime: 'ocre' }],
  artifactName: 'a WASM module',
  classify(m) {
    const layers = m.layers ?? [];
    const layer = layers.find((l) => WASM_LAYER_MEDIA_TYPES.includes(l.mediaType));
    return layer && (m.config?.mediaType === MediaType.wasmConfig || layers.length === 1)
      ? { kind: 'wasm', layer }
      : undefined;
  },
  config: { defaults: defaultOcreConfig, keys: OCRE_CONFIG_KEYS, parse: parseOcreConfig },
  // The host runs none of it: the MCUs (child devices) report `custom` and `ocre` themselves.
  capabilities: { deploymentTypes: [], runtimes: [], extensionRuntimes: [] },
  labels: () => ({}),
  // Ocre gives every container a fixed 8 KiB stack and 8 KiB heap; nothing of a profile is enforced.
  limits: { memory: false, cpus: false },
  supervises: false,
  async create(ctx, config) {
    const [{ McuFleet }, { OcreAdapter }] = await Promise.all([
      import('./mcu-fleet.js'),
      import('./ocre-adapter.js'),
    ]);
    const fleet = await McuFleet.open({
      mcus: ctx.mcus ?? [],
      config,
      clock: ctx.clock,
      logger: ctx.logger,
    });
    return new OcreAdapter({ stateDir: ctx.stateDir(), fleet, clock: ctx.clock, logger: ctx.logger });
  },
});
export { mcuCapabilities, type McuReport } from './capabilities.js';
