import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { BUILTIN_RUNTIMES } from './registry.js';
import {
  runtimeLabel,
  type RestartTiming,
  type RuntimeContext,
  type RuntimeDefinition,
  type RuntimeProbe,
} from './runtime.js';
import type { RuntimeAdapter } from './types.js';
import type { McuConfig } from './ocre/config.js';

/**
 * The runtimes this agent runs, built from the registry (registry.ts) and agent.yaml: one adapter per
 * enabled runtime, each with its own state folder under `<home>/workloads/<kind>` and this agent
 * instance's id. A runtime is used only while its probe says it is usable here; the probe also gives the
 * labels and capabilities the node reports.
 */
export interface RuntimeSet {
  /** The adapter of a kind when it is usable on this host. */
  get(kind: string): RuntimeAdapter | undefined;
  /** Every adapter created (usable or not), for finding workloads after a restart. */
  all(): RuntimeAdapter[];
  /** Probes every runtime again (and other engines the host has); the result feeds the capabilities. */
  probe(): Promise<RuntimeProbe[]>;
  lastProbe(): RuntimeProbe[];
  /** Removes a container image the agent pulled once no workload uses it (after an update replaced it). */
  pruneImage(ref: string): Promise<void>;
}

export interface RuntimeSetOptions {
  /** Every runtime's section of agent.yaml (`runtimes:`), by kind. */
  config: Readonly<Record<string, { enabled: boolean }>>;
  workloadsDir: string;
  instance: string;
  logger: Logger;
  clock: Clock;
  /** The agent's restart backoff (the WASM runner uses it for module crashes). */
  restart: RestartTiming;
  env?: NodeJS.ProcessEnv;
  /** Hosts whose registries are plain HTTP (for helm's --plain-http). */
  plainHttpRegistries?: readonly string[];
  /** The registered runtimes (default: registry.ts). */
  definitions?: readonly RuntimeDefinition[];
  /** Microcontrollers of agent.yaml (`mcus:`), for the ocre runtime. */
  mcus?: readonly McuConfig[];
}

export async function createRuntimeSet(o: RuntimeSetOptions): Promise<RuntimeSet> {
  const definitions = o.definitions ?? BUILTIN_RUNTIMES;
  const env = o.env ?? process.env;
  const shared = new Map<string, Promise<unknown>>();
  const context = (kind: string): RuntimeContext => ({
    stateDir() {
      const d = path.join(o.workloadsDir, kind);
      fs.mkdirSync(d, { recursive: true, mode: 0o700 });
      return d;
    },
    logger: o.logger,
    clock: o.clock,
    instance: o.instance,
    env,
    plainHttpRegistries: o.plainHttpRegistries ?? [],
    sections: o.config,
    restart: o.restart,
    ...(o.mcus ? { mcus: o.mcus } : {}),
    shared<T>(key: string, make: () => Promise<T>): Promise<T> {
      let p = shared.get(key) as Promise<T> | undefined;
      if (!p) {
        p = make();
        shared.set(key, p);
      }
      return p;
    },
  });

  const adapters = new Map<
    string,
    { def: RuntimeDefinition; adapter: RuntimeAdapter; ctx: RuntimeContext }
  >();
  for (const def of definitions) {
    const section = o.config[def.kind];
    if (!section?.enabled) continue;
    const ctx = context(def.kind);
    adapters.set(def.kind, { def, adapter: await def.create(ctx, section), ctx });
  }

  let probes: RuntimeProbe[] = [];
  const available = new Set<string>();
  const set: RuntimeSet = {
    get: (k) => (available.has(k) ? adapters.get(k)?.adapter : undefined),
    all: () => [...adapters.values()].map((a) => a.adapter),
    lastProbe: () => probes,
    async pruneImage(ref) {
      for (const { adapter } of adapters.values()) {
        try {
          await adapter.pruneImage?.(ref);
        } catch (e) {
          o.logger.debug({ image: ref, err: (e as Error).message }, 'image not removed');
        }
      }
    },
    async probe() {
      const ours = await Promise.all(
        [...adapters.values()].map(async ({ def, adapter }): Promise<RuntimeProbe> => {
          const p = await adapter
            .probe()
            .catch((e: unknown) => ({ available: false, detail: (e as Error).message }));
          return {
            name: def.kind,
            ...p,
            ...(p.available ? { labels: def.labels?.(p) ?? { [runtimeLabel(def.kind)]: 'true' } } : {}),
          };
        }),
      );
      const others = (
        await Promise.all(
          [...adapters.values()].map(({ def, ctx }) => def.others?.(ctx).catch(() => []) ?? []),
        )
      ).flat();
      available.clear();
      for (const p of ours) if (p.available) available.add(p.name);
      probes = [...ours, ...others];
      o.logger.debug({ runtimes: probes }, 'runtimes probed');
      return probes;
    },
  };
  await set.probe();
  return set;
}
