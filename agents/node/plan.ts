import { OutpostError } from '../../lib/errors/index.js';
import type { Logger } from '../../lib/log/index.js';
import {
  tryParseQuantity,
  OUTPOST_EXTENSION_KEY,
  type ApplicationDeployment,
  type Component,
  type ParameterValue,
} from '../../lib/model/index.js';
import type { BlobCache, RegistryClient, Reference } from '../../lib/oci/index.js';
import {
  BUILTIN_RUNTIMES,
  computeSpecHash,
  profileRuntimes,
  runtimeDefinition,
  runtimeForArtifact,
  type Artifact,
  type RuntimeDefinition,
  type WorkloadSpec,
} from '../runtimes/index.js';
import type { DeploymentPins } from './pins.js';
import type { PlannedWorkload } from './state.js';
import type { PullSource } from './site-registry.js';

/**
 * From an ApplicationDeployment to the workloads that run it (ADR 0266, 0206): the profile names the
 * runtimes that may run it (the registry: `compose` → compose or container, `helm` → helm, `custom` with
 * `x-outpost-extensions.runtime: wasm` → wasm), each component's OCI artifact is resolved (through the
 * site registry first, ADR 0422) and its manifest decides among them (a compose archive → compose, a
 * container image → container), file artifacts are pulled into the blob cache with their digest
 * verified, parameters become environment variables (compose, container, wasm: the target's `pointer`
 * is the variable name) or values by dot path (helm), the profile's memory and CPU requirements become
 * limits where the runtime enforces them, and the spec hash covers everything that defines the workload
 * (an image by its origin name). Errors carry the component they concern (`data.component`).
 */

/**
 * When the next pull source is tried (ADR 0422): the registry does not have the artifact, or cannot be
 * reached. Never after a refusal, an untrusted certificate or a wrong digest: those are not "elsewhere".
 */
const FALL_THROUGH = new Set(['oci/not-found', 'network-error', 'timeout']);

export function componentError(
  component: string,
  code: string,
  message: string,
  cause?: unknown,
): OutpostError {
  return new OutpostError(code, message, { data: { component }, ...(cause ? { cause } : {}) });
}

/**
 * The runtimes that may run a deployment's profile, in preference order; refuses a profile no runtime
 * takes (`agent/unsupported-profile`).
 */
export function deploymentRuntimes(
  doc: ApplicationDeployment,
  definitions: readonly RuntimeDefinition[] = BUILTIN_RUNTIMES,
): string[] {
  return profileRuntimes(doc.spec.deploymentProfile, definitions, doc.spec.extensions);
}

/** The runtime a deployment's profile asks for first (`compose` for a compose profile). */
export function profileRuntime(
  doc: ApplicationDeployment,
  definitions: readonly RuntimeDefinition[] = BUILTIN_RUNTIMES,
): string {
  return deploymentRuntimes(doc, definitions)[0]!;
}

function envValue(v: ParameterValue): string {
  return Array.isArray(v) ? v.map(String).join(',') : String(v);
}

/** Environment variables of one component: every parameter target naming it, `pointer` = variable name. */
export function componentEnv(doc: ApplicationDeployment, component: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, p] of Object.entries(doc.spec.parameters ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    for (const t of p.targets) if (t.components.includes(component)) env[t.pointer] = envValue(p.value);
  }
  return env;
}

/** Helm values of one component by dot path. */
export function componentHelmValues(doc: ApplicationDeployment, component: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [, p] of Object.entries(doc.spec.parameters ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
    for (const t of p.targets) if (t.components.includes(component)) values[t.pointer] = p.value;
  }
  return values;
}

/** Margo `timeout` (`8m30s`) in milliseconds. */
export function parseTimeout(t: string | undefined): number | undefined {
  const m = t === undefined ? null : /^(\d+)m(\d+)s$/.exec(t);
  return m ? (Number(m[1]) * 60 + Number(m[2])) * 1000 : undefined;
}

interface ComponentExtension {
  args?: string[];
  network?: string;
  publish?: string[];
  memory?: string;
  /** CPU cores the component may use (a limit where the runtime enforces one). */
  cpus?: number;
  restart?: 'on-failure' | 'always' | 'never';
}

/** Our per-component settings (`x-outpost-extensions` on a component); anything malformed is ignored. */
export function componentExtension(c: Component): ComponentExtension {
  const e = c.extensions?.[OUTPOST_EXTENSION_KEY] as Record<string, unknown> | undefined;
  if (!e || typeof e !== 'object') return {};
  const strs = (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  const out: ComponentExtension = {};
  const args = strs(e.args);
  if (args) out.args = args;
  if (typeof e.network === 'string') out.network = e.network;
  const publish = strs(e.publish);
  if (publish) out.publish = publish;
  if (typeof e.memory === 'string' && tryParseQuantity(e.memory) !== undefined) out.memory = e.memory;
  if (typeof e.cpus === 'number' && Number.isFinite(e.cpus) && e.cpus > 0) out.cpus = e.cpus;
  if (e.restart === 'on-failure' || e.restart === 'always' || e.restart === 'never') out.restart = e.restart;
  return out;
}

export interface PlanDeps {
  registry(): Promise<RegistryClient>;
  /**
   * Where to look for a component's artifact, in order (the site registry first, ADR 0422); the next one
   * is tried only when one does not have it or cannot be reached. Default: the reference's own registry.
   */
  sources?(ref: Reference): Promise<PullSource[]>;
  cache(): Promise<BlobCache>;
  parseReference(s: string): Reference;
  /** Whether a registry host is reached over plain HTTP. */
  isPlainHttp(host: string): boolean;
  hasRuntime(kind: string): boolean;
  /** The registered runtimes (default: agents/runtimes/registry.ts). */
  runtimes?: readonly RuntimeDefinition[];
  componentTimeoutMs: number;
  logger: Logger;
}

/**
 * Resolves and pulls every component of a deployment; throws a component error on the first failure.
 * With `pins`, each blob is pinned before it is looked up or downloaded and stays pinned until the caller
 * releases the pins (when its task ends, ADR 0342): without them a later component's download may evict
 * an earlier one's blob before it is installed.
 */
export async function planDeployment(
  doc: ApplicationDeployment,
  deps: PlanDeps,
  signal?: AbortSignal,
  pins?: DeploymentPins,
): Promise<PlannedWorkload[]> {
  const definitions = deps.runtimes ?? BUILTIN_RUNTIMES;
  const kinds = deploymentRuntimes(doc, definitions);
  const profile = doc.spec.deploymentProfile;
  // How messages name the profile: its type, or for `custom` the runtime it asks for.
  const profileName = profile.type === 'custom' ? kinds[0]! : profile.type;
  const capacity = profile.deviceConstraints?.capacityRequirements;
  const out: PlannedWorkload[] = [];
  for (const c of profile.components) {
    signal?.throwIfAborted();
    const fail = (code: string, m: string, cause?: unknown) =>
      componentError(c.name, code, `component ${c.name}: ${m}`, cause);
    const { repository, revision } = c.properties;
    if (!repository || !revision)
      throw fail('agent/invalid-component', 'repository and revision are required (oci://...)');
    let ref: Reference;
    try {
      ref = deps.parseReference(`${repository.replace(/\/+$/, '')}:${revision}`);
    } catch (e) {
      throw fail('oci/invalid-reference', (e as Error).message, e);
    }
    const sources: PullSource[] = deps.sources
      ? await deps.sources(ref)
      : [{ ref, registry: await deps.registry(), site: false }];
    let resolved;
    let from = sources[0]!;
    const misses: string[] = [];
    for (const [i, s] of sources.entries()) {
      try {
        resolved = await s.registry.resolve(s.ref, { signal });
        from = s;
        break;
      } catch (e) {
        const code = (e as OutpostError).code;
        if (FALL_THROUGH.has(code) && i < sources.length - 1) {
          misses.push((e as Error).message);
          deps.logger.debug(
            {
              component: c.name,
              reference: `${s.ref.registry}/${s.ref.repository}`,
              next: sources[i + 1]!.ref.registry,
            },
            'artifact not available from this registry; trying the next',
          );
          continue;
        }
        throw componentError(
          c.name,
          code ?? 'oci/registry-error',
          `component ${c.name}: ${[...misses, (e as Error).message].join('; then ')}`,
          e,
        );
      }
    }
    if (!resolved) throw componentError(c.name, 'oci/not-found', `component ${c.name}: not found`);
    const registry = from.registry;
    const origin = ref;
    ref = from.ref;
    // The runtime comes from the manifest, whichever registry it came from (ADR 0206).
    let cls;
    try {
      cls = runtimeForArtifact(
        resolved.manifest,
        kinds,
        `${repository}:${revision}`,
        profileName,
        definitions,
      );
    } catch (e) {
      throw fail((e as OutpostError).code, (e as Error).message, e);
    }
    const kind = cls.runtime;
    const def = runtimeDefinition(kind, definitions)!;
    const ext = componentExtension(c);
    if (!deps.hasRuntime(kind))
      throw fail('agent/runtime-unavailable', `the ${kind} runtime is not available on this node`);

    let artifact: Artifact;
    let source: PlannedWorkload['source'];
    /** What the spec hash covers for an image: its origin name, so the same digest from the site registry is the same workload. */
    let hashedImage: string | undefined;
    if (!cls.layer) {
      artifact = {
        image: `${ref.registry}/${ref.repository}@${resolved.digest}`,
        tlsVerify: !(from.plainHttp ?? deps.isPlainHttp(ref.registry)),
        pull: 'missing',
        ...(from.site && from.certDir ? { certDir: from.certDir } : {}),
      };
      hashedImage = `${origin.registry}/${origin.repository}@${resolved.digest}`;
    } else {
      const layer = cls.layer;
      const { cache, lease } = pins ? await pins.hold() : { cache: await deps.cache(), lease: undefined };
      const { pullBlobToCache } = await import('../../lib/oci/index.js');
      let file: string;
      try {
        file = await pullBlobToCache(registry, cache, ref, layer, {
          signal,
          ...(lease ? { lease } : {}),
        });
      } catch (e) {
        throw componentError(
          c.name,
          (e as OutpostError).code ?? 'oci/registry-error',
          `component ${c.name}: ${(e as Error).message}`,
          e,
        );
      }
      artifact = { path: file, mediaType: layer.mediaType, digest: layer.digest };
      source = {
        ref: `${ref.registry}/${ref.repository}@${resolved.digest}`,
        digest: layer.digest,
        size: layer.size,
      };
    }
    // The component's own limits, else the profile's requirements (ADR 0207), where the runtime enforces them.
    const memory = def.limits.memory ? (ext.memory ?? capacity?.memory) : undefined;
    const memoryBytes = memory ? tryParseQuantity(memory) : undefined;
    const cpus = def.limits.cpus ? (ext.cpus ?? capacity?.cpu?.cores) : undefined;
    const limits = {
      ...(memoryBytes ? { memoryBytes } : {}),
      ...(cpus !== undefined && cpus > 0 ? { cpus } : {}),
    };
    const base: Omit<WorkloadSpec, 'specHash'> = {
      workloadId: `${doc.id}.${c.name}`,
      deploymentId: doc.id,
      component: c.name,
      revision,
      artifact,
      env: kind === 'helm' ? {} : componentEnv(doc, c.name),
      ...(ext.args ? { args: ext.args } : {}),
      ...(kind === 'helm'
        ? {
            helm: {
              chartRef: (artifact as { path: string }).path,
              version: revision,
              values: componentHelmValues(doc, c.name),
              namespace: doc.metadata.namespace || 'default',
              wait: c.properties.wait ?? true,
              ...(c.properties.timeout ? { timeout: c.properties.timeout } : {}),
            },
          }
        : {}),
      ...(kind === 'container' && (ext.network || ext.publish)
        ? {
            container: {
              ...(ext.network ? { network: ext.network } : {}),
              ...(ext.publish ? { publish: ext.publish } : {}),
            },
          }
        : {}),
      ...(Object.keys(limits).length ? { limits } : {}),
      ...(ext.restart ? { restart: { policy: ext.restart } } : {}),
      // A see-thru gateway's child device (an MCU behind this host, ADR 0441).
      ...(doc.metadata.deviceId.includes('/') ? { device: doc.metadata.deviceId } : {}),
    };
    const hashed =
      hashedImage === undefined
        ? base
        : {
            ...base,
            artifact: {
              image: hashedImage,
              tlsVerify: !deps.isPlainHttp(origin.registry),
              pull: 'missing' as const,
            },
          };
    const spec: WorkloadSpec = { ...base, specHash: computeSpecHash(hashed) };
    out.push({
      component: c.name,
      kind,
      wait: c.properties.wait ?? true,
      timeoutMs: parseTimeout(c.properties.timeout) ?? deps.componentTimeoutMs,
      spec,
      ...(source ? { source } : {}),
    });
  }
  return out;
}
