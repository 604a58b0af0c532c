import { OutpostError } from '../../lib/errors/index.js';
import { OUTPOST_EXTENSION_KEY, type Extensions } from '../../lib/model/index.js';
import type { ImageManifest } from '../../lib/oci/index.js';
import { composeRuntime } from './compose/index.js';
import { containerRuntime } from './container/index.js';
import { helmRuntime } from './helm/index.js';
import type { AbsentRuntime, ArtifactClass, ConfigCheck, RuntimeDefinition } from './runtime.js';
import { wasmRuntime } from './wasm/index.js';
import { ocreRuntime } from './ocre/index.js';

/**
 * The runtimes this agent has, one registration each (ADR 0206). Adding a runtime is a folder
 * `agents/runtimes/<kind>/` exporting a `RuntimeDefinition` from its `index.ts`, and one line here.
 * The order matters where two runtimes take the same profile: the first whose artifacts match wins
 * (a `compose` profile's component is a compose archive, else a container image).
 */
export const BUILTIN_RUNTIMES = [
  wasmRuntime,
  composeRuntime,
  helmRuntime,
  containerRuntime,
  ocreRuntime,
] as const;

/** Runtimes known by name but not in this agent yet: their profiles are refused with a reason. */
export const ABSENT_RUNTIMES: readonly AbsentRuntime[] = [];

type Builtin = (typeof BUILTIN_RUNTIMES)[number];
type ConfigOf<D> = D extends RuntimeDefinition<string, infer C> ? C : never;

/** `runtimes:` in agent.yaml: one section per registered runtime, keyed by its kind. */
export type RuntimesConfig = { [D in Builtin as D['kind']]: ConfigOf<D> };

/** `a, b or c`. */
const oneOf = (names: readonly string[]) =>
  names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : (names[0] ?? 'nothing');

export function defaultRuntimesConfig(): RuntimesConfig {
  return Object.fromEntries(BUILTIN_RUNTIMES.map((d) => [d.kind, d.config.defaults()])) as RuntimesConfig;
}

/** Reads the `runtimes` section over the defaults; each runtime checks its own sub-section. */
export function parseRuntimesConfig(
  section: Record<string, unknown>,
  into: RuntimesConfig,
  check: ConfigCheck,
): void {
  const defs: readonly RuntimeDefinition[] = BUILTIN_RUNTIMES;
  check.keys(
    section,
    'runtimes',
    defs.map((d) => d.kind),
  );
  for (const d of defs) {
    const v = section[d.kind];
    const field = `runtimes.${d.kind}`;
    if (v === undefined || v === null) continue;
    if (typeof v !== 'object' || Array.isArray(v)) {
      check.bad(field, 'must be a mapping');
      continue;
    }
    const sub = v as Record<string, unknown>;
    check.keys(sub, field, d.config.keys);
    d.config.parse(sub, (into as unknown as Record<string, { enabled: boolean }>)[d.kind]!, check, field);
  }
}

export interface ProfileLike {
  type: string;
  extensions?: Extensions;
}

function extensionRuntime(extensions: Extensions | undefined): unknown {
  return (extensions?.[OUTPOST_EXTENSION_KEY] as { runtime?: unknown } | undefined)?.runtime;
}

function matches(m: { type: string; runtime?: string }, type: string, runtime: unknown): boolean {
  return m.type === type && (m.runtime === undefined || m.runtime === runtime);
}

/**
 * The runtimes that take a deployment profile, in preference order (`compose`: compose, container).
 * The `x-outpost-extensions.runtime` of a `custom` profile is read from the profile, else from
 * `fallback` (the deployment's own extensions). Refuses what no runtime takes (`agent/unsupported-profile`).
 */
export function profileRuntimes(
  profile: ProfileLike,
  definitions: readonly RuntimeDefinition[] = BUILTIN_RUNTIMES,
  fallback?: Extensions,
): string[] {
  const defs = definitions;
  const runtime = extensionRuntime(profile.extensions) ?? extensionRuntime(fallback);
  const kinds = defs
    .filter((d) => d.profiles.some((m) => matches(m, profile.type, runtime)))
    .map((d) => d.kind);
  if (kinds.length > 0) return kinds;
  const custom = defs.flatMap((d) => d.profiles.filter((m) => m.type === 'custom').map((m) => m.runtime));
  const absent = ABSENT_RUNTIMES.find((a) => a.profiles.some((m) => matches(m, profile.type, runtime)));
  const key = `${OUTPOST_EXTENSION_KEY}.runtime`;
  let why: string;
  if (profile.type !== 'custom') why = `deployment type ${JSON.stringify(profile.type)} is not supported`;
  else if (runtime === undefined) why = `a custom profile needs ${key} (${oneOf(custom as string[])})`;
  else if (absent)
    why = `the custom profile asks for runtime ${JSON.stringify(runtime)} (${key}): ${absent.reason}`;
  else
    why = `the custom profile asks for runtime ${JSON.stringify(runtime)} (${key}), which is unknown; this agent runs ${custom.join(', ')}`;
  throw new OutpostError('agent/unsupported-profile', why, {
    data: { type: profile.type, ...(typeof runtime === 'string' ? { runtime } : {}) },
  });
}

/** What an OCI manifest holds, by the first runtime (of `definitions`, in order) that recognises it. */
export function classifyArtifact(
  m: ImageManifest,
  definitions: readonly RuntimeDefinition[] = BUILTIN_RUNTIMES,
): (ArtifactClass & { runtime: string }) | undefined {
  for (const d of definitions) {
    const c = d.classify(m);
    if (c) return { ...c, runtime: d.kind };
  }
  return undefined;
}

/**
 * Which of a profile's runtimes runs a component's artifact. Refuses an artifact no runtime knows, or one
 * the profile's runtimes do not run (`agent/artifact-unsupported`), naming what it is and what was wanted.
 */
export function runtimeForArtifact(
  m: ImageManifest,
  kinds: readonly string[],
  what: string,
  profile: string,
  definitions: readonly RuntimeDefinition[] = BUILTIN_RUNTIMES,
): ArtifactClass & { runtime: string } {
  const defs = definitions;
  const wanted = kinds.map((k) => defs.find((d) => d.kind === k)!).filter(Boolean);
  const found = classifyArtifact(m, wanted);
  if (found) return found;
  const other = classifyArtifact(m, definitions);
  const names = (ds: readonly RuntimeDefinition[]) => oneOf([...new Set(ds.map((d) => d.artifactName))]);
  throw new OutpostError(
    'agent/artifact-unsupported',
    other
      ? `the ${profile} profile needs ${names(wanted)}, ${what} is a ${other.kind} artifact`
      : `${what} is not ${names(defs)}`,
  );
}

/** The registered definition of a kind. */
export function runtimeDefinition(
  kind: string,
  definitions: readonly RuntimeDefinition[] = BUILTIN_RUNTIMES,
): RuntimeDefinition | undefined {
  return definitions.find((d) => d.kind === kind);
}
