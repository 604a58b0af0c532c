import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { DeploymentType } from '../../lib/model/index.js';
import type { Descriptor, ImageManifest } from '../../lib/oci/index.js';
import type { ProbeResult, RuntimeAdapter } from './types.js';
import type { McuConfig } from './ocre/config.js';

/**
 * What one runtime contributes to the agent (agents/runtimes/README.md, ADR 0206): a folder
 * `agents/runtimes/<kind>/` whose `index.ts` exports one `RuntimeDefinition`, listed once in
 * `registry.ts`. The agent learns everything about a runtime from it: the Margo profiles it takes, the
 * artifacts it runs, its section of agent.yaml, how it is built and probed, what it adds to the node's
 * capabilities, and which of a profile's limits it enforces.
 */

/** A Margo deployment profile a runtime takes: its `type`, and for `custom` its `x-outpost-extensions.runtime`. */
export interface ProfileMatch {
  type: DeploymentType | 'helm.v3';
  /** `x-outpost-extensions.runtime` (only for `custom`). */
  runtime?: string;
}

/**
 * What a runtime makes of a component's OCI manifest. `kind` names the artifact (`wasm`, `compose`,
 * `helm`, `image`); `layer` is the file the agent pulls, verifies and hands over; without it the
 * runtime pulls the artifact itself by reference (a container image).
 */
export interface ArtifactClass {
  kind: string;
  layer?: Descriptor;
}

/** The checks a runtime's configuration section may use (agents/node/config.ts implements them). */
export interface ConfigCheck {
  /** Records a problem with a field (the whole file is refused, every problem named). */
  bad(field: string, message: string): void;
  keys(o: Record<string, unknown>, field: string, allowed: readonly string[]): void;
  bool(v: unknown, field: string): boolean | undefined;
  num(v: unknown, field: string, min: number, max: number, int?: boolean): number | undefined;
  str(v: unknown, field: string, pattern?: RegExp, hint?: string): string | undefined;
  oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T | undefined;
  quantity(v: unknown, field: string): string | undefined;
}

/** A runtime's section of agent.yaml: `runtimes.<kind>`. Every section has `enabled`. */
export interface RuntimeConfigSection<C extends { enabled: boolean }> {
  defaults(): C;
  /** The keys the section may hold (others are refused). */
  keys: readonly string[];
  /** Reads the (already key-checked) section into `into`, which holds the defaults. */
  parse(section: Record<string, unknown>, into: C, check: ConfigCheck, field: string): void;
}

/** What a runtime gets to build its adapter. */
export interface RuntimeContext {
  /** The runtime's own state folder (`<home>/workloads/<kind>`), made on first use. */
  stateDir(): string;
  logger: Logger;
  clock: Clock;
  /** This agent instance's id (labels, so two agents on one host never adopt each other's workloads). */
  instance: string;
  /** Environment for the runtime's tools (CONTAINERS_CONF, REGISTRY_AUTH_FILE, KUBECONFIG ...). */
  env: NodeJS.ProcessEnv;
  /** Registry hosts reached over plain HTTP. */
  plainHttpRegistries: readonly string[];
  /** Every runtime's section of agent.yaml (compose reads the container engine settings). */
  sections: Readonly<Record<string, unknown>>;
  /** The agent's restart backoff (ADR 0207), for runtimes that restart workloads themselves. */
  restart: RestartTiming;
  /** Microcontrollers of agent.yaml (`mcus:`), for the ocre runtime. */
  mcus?: readonly McuConfig[];
  /** One instance of a resource shared by several runtimes (the container engine), made on first use. */
  shared<T>(key: string, make: () => Promise<T>): Promise<T>;
}

/** The agent's restart backoff: exponential from `firstDelayMs`, capped, reset after a healthy run. */
export interface RestartTiming {
  firstDelayMs: number;
  maxDelayMs: number;
  /** A run that lasted this long resets the backoff (and ends a crash loop). */
  healthyAfterMs: number;
}

export interface RuntimeDefinition<
  K extends string = string,
  C extends { enabled: boolean } = { enabled: boolean },
> {
  kind: K;
  /** One line for people (docs, `edgectl agent status`). */
  description: string;
  /** The Margo profiles it takes, in preference order among runtimes for the same profile. */
  profiles: readonly ProfileMatch[];
  /** What it runs, by the manifest's config and layer media types (lib/oci `MediaType`). */
  classify(m: ImageManifest): ArtifactClass | undefined;
  /** The artifact in words, for errors: "a WASM module". */
  artifactName: string;
  config: RuntimeConfigSection<C>;
  /** What it adds to the node's Margo capabilities when its probe succeeds. */
  capabilities: {
    deploymentTypes: readonly DeploymentType[];
    runtimes: readonly ('oci' | 'custom')[];
    /** `x-outpost-extensions.runtime` values it serves. */
    extensionRuntimes?: readonly string[];
  };
  /** Which of a profile's limits it enforces (the capabilities say which it cannot). */
  limits: { memory: boolean; cpus: boolean };
  /**
   * Whether the runtime restarts its workloads itself with the agent's backoff (the WASM runner; Helm's
   * cluster): its `failed` is then final, and the agent starts a workload again only when its supervisor
   * is gone (`WorkloadStatus.lost`). Otherwise (containers, compose) the agent restarts them (ADR 0207).
   */
  supervises: boolean;
  /** Builds the adapter (starts nothing). Its `probe()` says whether the runtime is usable here. */
  create(ctx: RuntimeContext, config: C): Promise<RuntimeAdapter>;
  /** Engines of the same family found on the host that this runtime does not drive (reported, never used). */
  others?(ctx: RuntimeContext): Promise<RuntimeProbe[]>;
  /** The labels it reports while usable (default `outpost.dev/runtime.<kind>: "true"`). */
  labels?(probe: ProbeResult): Record<string, string>;
}

/** A runtime the agent knows by name but does not have (yet): its profiles are refused with `reason`. */
export interface AbsentRuntime {
  kind: string;
  profiles: readonly ProfileMatch[];
  reason: string;
}

/** One line of the runtimes' probe, for the capabilities and the log. */
export interface RuntimeProbe {
  /** Our runtime kind, or another engine found on the host (`containerd`, `docker`). */
  name: string;
  available: boolean;
  version?: string;
  detail?: string;
  /** The labels the runtime reports (only when available). */
  labels?: Record<string, string>;
}

/** Label keys under this prefix are the agent's own: one per runtime it can really run (issue 12). */
export const RUNTIME_LABEL_PREFIX = 'outpost.dev/runtime.';

export function runtimeLabel(kind: string): string {
  return `${RUNTIME_LABEL_PREFIX}${kind}`;
}

/** Types a definition so its `kind` and its configuration keep their literal types. */
export function defineRuntime<K extends string, C extends { enabled: boolean }>(
  d: RuntimeDefinition<K, C>,
): RuntimeDefinition<K, C> {
  return d;
}
