/**
 * The edge agent's runtimes (agents/runtimes/README.md): one adapter interface (types.ts), one folder per
 * runtime registering a `RuntimeDefinition` (runtime.ts), the list of them (registry.ts), and the set the
 * agent runs (runtime-set.ts). The agent imports runtimes through this entry only.
 */
export * from './types.js';
export {
  defineRuntime,
  runtimeLabel,
  RUNTIME_LABEL_PREFIX,
  type AbsentRuntime,
  type ArtifactClass,
  type ConfigCheck,
  type ProfileMatch,
  type RestartTiming,
  type RuntimeConfigSection,
  type RuntimeContext,
  type RuntimeDefinition,
  type RuntimeProbe,
} from './runtime.js';
export {
  ABSENT_RUNTIMES,
  BUILTIN_RUNTIMES,
  classifyArtifact,
  defaultRuntimesConfig,
  parseRuntimesConfig,
  profileRuntimes,
  runtimeDefinition,
  runtimeForArtifact,
  type ProfileLike,
  type RuntimesConfig,
} from './registry.js';
export { createRuntimeSet, type RuntimeSet, type RuntimeSetOptions } from './runtime-set.js';
export { computeSpecHash, safeName, Label } from './names.js';
export { parseMcus, type McuConfig } from './ocre/config.js';
export {
  mcuCapabilities,
  type McuEvent,
  type McuReport,
  type McuState,
  type McuFleet,
  type OcreAdapter,
} from './ocre/index.js';
