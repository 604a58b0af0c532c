import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { systemClock } from '../../lib/base/index.js';
import { createLogger } from '../../lib/log/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { parseApplicationDeployment } from '../../lib/margo/index.js';
import type { DeploymentStatus } from '../../lib/model/index.js';
import {
  createBlobCache,
  type BlobCache,
  digestOf,
  parseReference,
  createRegistryClient,
  type RegistryClient,
} from '../../lib/oci/index.js';
import { verifyArtifact } from '../runtimes/fs-util.js';
import {
  isImageArtifact,
  type ProbeResult,
  type RuntimeAdapter,
  type WorkloadSpec,
  type WorkloadStatus,
} from '../runtimes/types.js';
import { parseAgentConfig } from './config.js';
import { Reconciler } from './reconciler.js';
import type { RuntimeSet } from '../runtimes/index.js';
import { createStateStore, type StateStore } from './state.js';

/**
 * Cached artifacts stay pinned from download until the deployment task ends (ADR 0342): a real registry
 * (Debian docker-registry), the real blob cache with a tiny limit, the real planner, and an adapter that
 * checks each artifact's bytes at install as the real ones do.
 */

const MODULE_BYTES = 600;
const LIMIT = 1000; // one module fits, two do not
const A = 'aaaaaaaa-1111-4111-8111-111111111111';
const B = 'bbbbbbbb-2222-4222-8222-222222222222';
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;
const module = (n: number) => Buffer.alloc(MODULE_BYTES, n);

let reg: TestRegistry;
let client: RegistryClient;
const dirs: string[] = [];

beforeAll(async () => {
  reg = await startRegistry();
  client = createRegistryClient({ plainHttp: true });
  for (const n of [1, 2, 3, 4])
    await client.push({
      ref: `${reg.host}/mods/m${n}:1.0.0`,
      files: [{ bytes: module(n), mediaType: 'application/wasm' }],
      artifactType: 'application/vnd.wasm.config.v0+json',
    });
});

afterAll(async () => {
  await client?.close();
  await reg?.stop();
});

afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** Checks the artifact's bytes at install, as the wasm, compose and helm adapters do. */
class CheckingAdapter implements RuntimeAdapter {
  readonly kind = 'wasm' as const;
  readonly running = new Map<string, string>();
  readonly applied: string[] = [];
  /** Runs before the check: another download, a barrier. */
  beforeCheck: (w: WorkloadSpec, signal?: AbortSignal) => Promise<void> = () => Promise.resolve();
  failing = new Set<string>();
  probe(): Promise<ProbeResult> {
    return Promise.resolve({ available: true });
  }
  async apply(w: WorkloadSpec, o: { signal?: AbortSignal } = {}): Promise<WorkloadStatus> {
    await this.beforeCheck(w, o.signal);
    if (isImageArtifact(w.artifact)) throw new Error('a wasm workload has a file artifact');
    await verifyArtifact(w.artifact, `wasm workload ${w.workloadId}`);
    if (this.failing.has(w.component))
      throw new OutpostError('runtime/start-failed', `${w.component} does not start`);
    this.applied.push(w.workloadId);
    this.running.set(w.workloadId, w.specHash);
    return this.status(w.workloadId);
  }
  async remove(id: string): Promise<void> {
    this.running.delete(id);
  }
  async status(id: string): Promise<WorkloadStatus> {
    const specHash = this.running.get(id);
    if (!specHash) return { workloadId: id, kind: 'wasm', state: 'removed', since: 0, restarts: 0 };
    return { workloadId: id, kind: 'wasm', state: 'running', specHash, since: 0, restarts: 0 };
  }
  async list(): Promise<WorkloadStatus[]> {
    return Promise.all([...this.running.keys()].map((k) => this.status(k)));
  }
}

function yaml(id: string, modules: number[]): string {
  return `id: ${id}
metadata:
  name: app-${id.slice(0, 1)}
  namespace: default
  deviceId: edge-1
spec:
  applicationId: app-${id.slice(0, 1)}
  deploymentProfile:
    type: custom
    x-outpost-extensions:
      runtime: wasm
    components:
${modules.map((n) => `      - name: m${n}\n        properties:\n          repository: oci://${reg.host}/mods/m${n}\n          revision: 1.0.0`).join('\n')}
`;
}

function setup(deployments: Record<string, number[]>) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-pins-'));
  dirs.push(d);
  const store: StateStore = createStateStore({
    file: path.join(d, 'state.json'),
    desiredDir: path.join(d, 'desired'),
  });
  for (const [id, modules] of Object.entries(deployments)) {
    const y = yaml(id, modules);
    store.putYaml(sha(y), Buffer.from(y));
    store.update((s) => {
      s.manifestVersion = 3;
      s.deployments[id] = {
        deploymentId: id,
        name: '',
        desired: true,
        digest: sha(y),
        adoptedManifestVersion: 3,
        workloads: [],
        failures: 0,
        updatedAt: 0,
      };
    });
  }
  const logs: { level: number; msg: string; deploymentId?: string }[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) },
  });
  const cache: BlobCache = createBlobCache({ dir: path.join(d, 'cache'), maxBytes: LIMIT, logger });
  const adapter = new CheckingAdapter();
  const reports: DeploymentStatus[] = [];
  const runtimes: RuntimeSet = {
    get: () => adapter,
    all: () => [adapter],
    probe: () => Promise.resolve([]),
    lastProbe: () => [],
    pruneImage: () => Promise.resolve(),
  };
  const r = new Reconciler({
    store,
    runtimes,
    plan: {
      registry: () => Promise.resolve(client),
      cache: () => Promise.resolve(cache),
      parseReference,
      isPlainHttp: () => true,
      hasRuntime: () => true,
      componentTimeoutMs: 5_000,
      logger,
    },
    report: (s) => reports.push(s),
    deviceId: 'edge-1',
    config: parseAgentConfig({ deployments: { retrySeconds: 3600, concurrency: 4 } }),
    logger,
    clock: systemClock,
    parseYaml: (b, dev) => parseApplicationDeployment(b, { deviceId: dev }),
  });
  const last = (id: string) => reports.filter((s) => s.deploymentId === id).at(-1);
  const pinned = async () => (await cache.list()).filter((b) => b.pinned).map((b) => b.digest);
  return { store, cache, adapter, reports, r, logs, last, pinned };
}

/** Resolves once `n` callers are waiting (or after 5 s, so a failure elsewhere cannot hang the test). */
function barrier(n: number): () => Promise<void> {
  let waiting = 0;
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const timer = setTimeout(() => open(), 5_000);
  return () => {
    if (++waiting >= n) {
      clearTimeout(timer);
      open();
    }
    return opened;
  };
}

describe('cache pins for deployment tasks', () => {
  it('installs a deployment whose artifacts together exceed the cache limit, says so, and unpins after', async () => {
    const t = setup({ [A]: [1, 2] });
    t.r.kick(A);
    await t.r.idle();
    // Without pins the second download evicted the first module before it was installed.
    expect(t.last(A)?.status).toEqual({ state: 'installed' });
    expect(t.adapter.applied).toEqual([`${A}.m1`, `${A}.m2`]);
    expect(t.store.get().deployments[A]?.cacheOverLimit).toEqual({
      neededBytes: 2 * MODULE_BYTES,
      maxBytes: LIMIT,
    });
    const warning = t.logs.find((l) => l.deploymentId === A && /whole blob cache/.test(l.msg));
    expect(warning).toMatchObject({ level: 40, neededBytes: 2 * MODULE_BYTES, maxBytes: LIMIT });
    // The task ended: nothing is pinned, and the cache can shrink back under its limit.
    expect(await t.pinned()).toEqual([]);
    expect(await t.cache.prune()).toHaveLength(1);
    expect((await t.cache.usage()).bytes).toBeLessThanOrEqual(LIMIT);
    await t.r.stop();
  });

  it('keeps two concurrent deployments from evicting each other before install', async () => {
    const t = setup({ [A]: [1], [B]: [2] });
    const both = barrier(2); // both downloads are done before either installs
    t.adapter.beforeCheck = () => both();
    t.r.kick(A);
    t.r.kick(B);
    await t.r.idle();
    expect(t.last(A)?.status).toEqual({ state: 'installed' });
    expect(t.last(B)?.status).toEqual({ state: 'installed' });
    // Each fits alone: no warning.
    expect(t.store.get().deployments[A]?.cacheOverLimit).toBeUndefined();
    expect(t.store.get().deployments[B]?.cacheOverLimit).toBeUndefined();
    expect(await t.pinned()).toEqual([]);
    await t.r.stop();
  });

  it('pins a reused plan before checking it, so a download meanwhile cannot take its artifacts', async () => {
    const t = setup({ [A]: [1] });
    t.r.kick(A);
    await t.r.idle();
    expect(t.last(A)?.status).toEqual({ state: 'installed' });
    // The workload vanished: the same plan is applied again, and another deployment downloads meanwhile.
    t.adapter.running.clear();
    t.store.update((s) => delete s.deployments[A]!.appliedDigest);
    t.adapter.beforeCheck = async () => {
      const other = module(9);
      const f = path.join(path.dirname(t.cache.dir), 'other.tmp');
      fs.writeFileSync(f, other);
      await t.cache.put(digestOf(other), f);
    };
    t.r.kick(A);
    await t.r.idle();
    expect(t.last(A)?.status).toEqual({ state: 'installed' });
    expect(t.adapter.applied).toEqual([`${A}.m1`, `${A}.m1`]);
    expect(await t.pinned()).toEqual([]);
    await t.r.stop();
  });

  it('releases the pins when the install fails, when planning fails and when the task is cancelled', async () => {
    const failing = setup({ [A]: [1, 2] });
    failing.adapter.failing.add('m2');
    failing.r.kick(A);
    await failing.r.idle();
    expect(failing.last(A)?.status.state).toBe('failed');
    expect((await failing.cache.list()).length).toBeGreaterThan(0);
    expect(await failing.pinned()).toEqual([]);
    await failing.r.stop();

    const missing = setup({ [A]: [1, 404] }); // m404 is not in the registry
    missing.r.kick(A);
    await missing.r.idle();
    expect(missing.last(A)?.status.state).toBe('failed');
    expect(await missing.cache.has(digestOf(module(1)))).toBe(true);
    expect(await missing.pinned()).toEqual([]);
    await missing.r.stop();

    const cancelled = setup({ [A]: [3, 4] });
    let installing!: () => void;
    const started = new Promise<void>((resolve) => (installing = resolve));
    cancelled.adapter.beforeCheck = (_w, signal) =>
      new Promise((_resolve, reject) => {
        installing();
        signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    cancelled.r.kick(A);
    await started;
    expect((await cancelled.pinned()).sort()).toEqual([digestOf(module(3)), digestOf(module(4))].sort());
    await cancelled.r.stop();
    expect(await cancelled.pinned()).toEqual([]);
  });
});
