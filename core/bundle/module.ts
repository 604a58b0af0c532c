import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { CoreModule } from '../module.js';
import type { Config } from '../config.js';
import type { Store } from '../store/db.js';
import type { EventHub } from '../events.js';
import type { AuditLog } from '../audit.js';
import type { Fleet } from '../fleet/module.js';
import type { Clock, Paths } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { isAdmin, type BundleJob, type CallContext } from '../../lib/contract/index.js';
import type { DeploymentStatus } from '../../lib/model/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import {
  createBlobCache,
  createRegistryClient,
  isLoopbackHost,
  type BlobCache,
  type RegistryClient,
} from '../../lib/oci/index.js';
import { createSigningKeys, type SecretSealer } from './keys.js';
import { createTrustStore } from './trust.js';
import { createStreams } from './streams.js';
import { createJobs } from './jobs.js';
import { createUploads } from './uploads.js';
import { createDriveWatcher } from './drives.js';
import { resolveDestination } from './destination.js';
import { exportSiteBundle } from './export-site.js';
import { exportStatusBundle } from './export-status.js';
import { createImporter, type Failpoint } from './import.js';
import type { BundleRegistryAccess } from './registry-port.js';

export type { SecretSealer } from './keys.js';
export type { Failpoint } from './import.js';
export type { BundleRegistry, BundleRegistryAccess } from './registry-port.js';

export interface BundleModuleDeps {
  config: Config;
  paths: Paths;
  store: Store;
  clock: Clock;
  logger: Logger;
  events: EventHub;
  audit: AuditLog;
  fleet: Fleet;
  /** The CO's deployments repositories (HQ exports from them). */
  repos: { dirOf(tenantId: string): string; readonly branch: string };
  /** Records a deployment status reported by a site's node (HQ, from a status bundle). */
  recordStatus(r: {
    clientId: string;
    status: DeploymentStatus;
    digest: string | undefined;
    receivedAt: number;
  }): void;
  /** LO: adopt the mirror's newest commit (state manifests) and tell the agents to poll. */
  adoptDesiredState(tenantId: string): Promise<void>;
  /** LO: the commit its manifests reflect. */
  desiredState(tenantId: string): { commit: string | null; adoptedAt: number | null };
  registry: BundleRegistryAccess;
  /** The desktop's keychain (Electron safeStorage), when there is one. */
  sealer?: SecretSealer | undefined;
  /** Test hook: called at named points of an import (a crash test kills the process there). */
  failpoint?: ((name: Failpoint) => void) | undefined;
}

/** Where the bundle module keeps its files under the home. */
export function bundleDirs(home: string) {
  const root = path.join(home, 'bundles');
  return {
    root,
    staging: path.join(root, 'staging'),
    uploads: path.join(root, 'uploads'),
    outbox: path.join(root, 'outbox'),
    work: path.join(root, 'work'),
    keys: path.join(home, 'keys', 'bundle'),
  };
}

/** The mirror of the deployments repository an air-gapped LO fills from bundles. */
export function bundleMirrorDir(paths: Paths, tenantId: string): string {
  return path.join(paths.mirrorsDir, tenantId);
}

/**
 * Air-gap bundles in the control plane (issue 13, ADR 0404-0408): signing keys and trust, exports (HQ:
 * a bundle for a site; LO: a status bundle for HQ), verify and import as jobs, uploads and downloads for
 * the console, and the removable drives the server sees.
 */
export function createBundleModule(deps: BundleModuleDeps): CoreModule {
  const { config, paths, store, clock, events, audit } = deps;
  const log = deps.logger.child({ component: 'bundles' });
  const dirs = bundleDirs(paths.home);
  const keys = createSigningKeys({ store, clock, dir: dirs.keys, sealer: deps.sealer });
  const trust = createTrustStore({ store, clock });
  const streams = createStreams({ store, clock, config });
  const jobs = createJobs({ clock, events, logger: log });
  const uploads = createUploads({ dir: dirs.uploads, clock });
  const tenantOfLo = config.tenancy.defaultTenant;
  const importer = createImporter({
    store,
    config,
    clock,
    logger: log,
    trust,
    streams,
    registry: deps.registry,
    fleet: deps.fleet,
    recordStatus: deps.recordStatus,
    mirrorDir: bundleMirrorDir(paths, tenantOfLo),
    adoptDesiredState: deps.adoptDesiredState,
    stagingRoot: dirs.staging,
    changed: (t, ...topics) => events.changed(t, ...topics),
    failpoint: deps.failpoint,
  });
  const drives = createDriveWatcher({
    lsblk: config.airgap.drives.lsblk,
    mountTable: config.airgap.drives.mountTable,
    intervalMs: config.airgap.drives.intervalSeconds * 1000,
    enabled: config.airgap.drives.enabled,
    clock,
    logger: log,
    classify(p) {
      const me = streams.identity();
      const forMe =
        p.kind !== null &&
        ((p.kind === 'hq-to-site' && config.role === 'lo' && p.target === me.siteId) ||
          (p.kind === 'site-to-hq' && config.role !== 'lo' && p.target === me.hqId));
      const last =
        forMe && p.source && p.target
          ? streams.lastImported({ kind: p.kind!, source: p.source, target: p.target })
          : null;
      const imported = last !== null && p.sequence !== null && p.sequence <= last;
      return { forHere: forMe && !imported, imported };
    },
    onChange: () => events.changed(null, 'drives'),
  });

  let remote: { client: RegistryClient; cache: BlobCache } | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  const remoteArtifacts = () => {
    if (remote) return remote;
    const cfg = config.airgap.registries;
    const byHost = (host: string) => cfg.find((r) => r.host.toLowerCase() === host.toLowerCase());
    const cas = cfg.filter((r) => r.caFile).map((r) => fs.readFileSync(r.caFile!, 'utf8'));
    remote = {
      client: createRegistryClient({
        plainHttp: (host) => byHost(host)?.plainHttp ?? isLoopbackHost(host),
        forcePlainHttp: cfg.some((r) => r.plainHttp),
        ...(cas.length ? { ca: cas.join('\n') } : {}),
        credentials: (host) => {
          const r = byHost(host);
          if (!r) return undefined;
          const token = r.tokenEnv ? process.env[r.tokenEnv] : r.token;
          if (!token) return undefined;
          return r.username ? { username: r.username, password: token } : { token };
        },
        logger: log,
        clock,
      }),
      cache: createBlobCache({
        dir: path.join(paths.cacheDir, 'bundle-artifacts'),
        maxBytes: config.airgap.artifactCacheBytes,
        clock,
        logger: log,
      }),
    };
    return remote;
  };

  /** One import applies at a time (verifies and exports run alongside). */
  let importLock: Promise<unknown> = Promise.resolve();
  const serialised = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = importLock.catch(() => undefined).then(fn);
    importLock = next;
    return next;
  };

  const fileOf = async (input: {
    file?: string | undefined;
    uploadId?: string | undefined;
  }): Promise<{ file: string; name: string; label: string }> => {
    if (input.uploadId) {
      const name = path.basename(uploads.name(input.uploadId));
      return { file: uploads.file(input.uploadId), name, label: `${name} (uploaded)` };
    }
    const file = path.resolve(input.file!);
    try {
      const st = await fsp.stat(file);
      if (!st.isFile()) throw new OutpostError('invalid-input', `${file} is not a file`);
    } catch (err) {
      if (err instanceof OutpostError) throw err;
      throw new OutpostError('not-found', `${file}: no such file`);
    }
    return { file, name: path.basename(file), label: file };
  };

  const auditEnd = (ctx: CallContext, action: string, target: string) => (job: BundleJob) => {
    const r = job.result?.report ?? null;
    const s = job.result?.summary ?? null;
    audit.record({
      tenantId: ctx.tenantId,
      actor: ctx.principal.id,
      transport: ctx.transport,
      // What an import applied came from the bundle (its operator is the actor); the rest from the caller.
      source: action === 'bundle.import.done' && job.state === 'succeeded' ? 'bundle' : ctx.source,
      action,
      target,
      input: {
        job: job.id,
        ...(r ? { kind: r.kind, source: r.source, target: r.target, sequence: r.sequence } : {}),
        ...(s ? { sequence: s.sequence, bytes: s.bytes, file: job.result?.file ?? null } : {}),
      },
      result: job.state === 'succeeded' ? 'ok' : 'error',
      errorCode: job.error?.code,
      errorMessage: job.error?.message,
      durationMs: job.finishedAt !== null ? job.finishedAt - job.startedAt : undefined,
    });
    events.changed(ctx.tenantId, 'bundles', 'sites');
  };

  const expiresDays = (d: number | undefined) => d ?? config.airgap.expiresDays;
  /** A path on the server's machine is an administrator's to name (others upload and download). */
  const requirePathRights = (ctx: CallContext, path: string | undefined) => {
    if (path !== undefined && !isAdmin(ctx.principal.roles))
      throw new OutpostError(
        'forbidden',
        'naming a file or folder on the server needs an administrator; upload the bundle, or export it as a download or to a drive',
      );
  };
  const dest = (input: { out?: string | undefined; drive?: string | undefined }) =>
    resolveDestination({
      out: input.out,
      drive: input.drive,
      drives: () => drives.state().drives,
      outbox: dirs.outbox,
    });

  return {
    name: 'bundles',
    async start() {
      for (const d of [dirs.staging, dirs.uploads, dirs.outbox, dirs.work])
        await fsp.mkdir(d, { recursive: true, mode: 0o700 });
      await fsp.rm(dirs.work, { recursive: true, force: true });
      await fsp.mkdir(dirs.work, { recursive: true, mode: 0o700 });
      const finished = await importer.recover();
      if (finished) log.warn({ finished }, 'interrupted bundle imports finished');
      await uploads.prune(0);
      pruneTimer = setInterval(() => void uploads.prune(24 * 3600_000).catch(() => undefined), 3600_000);
      pruneTimer.unref();
      drives.start();
    },
    async stop() {
      if (pruneTimer) clearInterval(pruneTimer);
      drives.stop();
      jobs.cancelAll();
      await jobs.settled();
      await remote?.client.close();
    },
    handlers: {
      bundle: {
        async identity() {
          return streams.identity();
        },
        async keys() {
          return { keys: keys.list() };
        },
        async exportKey() {
          const k = keys.current().row;
          events.changed(null, 'bundles');
          return k;
        },
        async rotateKey() {
          const r = keys.rotate();
          events.changed(null, 'bundles');
          return r;
        },
        async trustAdd(input) {
          if (config.role === 'lo' && input.siteId && input.siteId !== config.site.id)
            throw new OutpostError(
              'invalid-input',
              `this LO serves site ${config.site.id}: a key pinned here for site ${input.siteId} would never sign for it`,
            );
          const k = trust.add(input);
          events.changed(null, 'bundles');
          return k;
        },
        async trustRemove(input) {
          const k = trust.remove(input.keyId.padStart(16, '0'));
          events.changed(null, 'bundles');
          return k;
        },
        async trustList() {
          return { keys: trust.list() };
        },
        async streams(input) {
          return { streams: streams.list(input.siteId), identity: streams.identity() };
        },
        async export(input, ctx) {
          if (config.role === 'lo')
            throw new OutpostError(
              'conflict',
              'this server runs with --role lo: HQ (roles co and all) writes bundles for sites; an LO writes status bundles (edgectl bundle export-status)',
            );
          if (!deps.fleet.siteExists(ctx.tenantId, input.siteId)) throw errors.notFound('site', input.siteId);
          requirePathRights(ctx, input.out);
          const d = dest(input);
          const label = `bundle for ${input.siteId}${d.drive ? ` to drive ${d.drive.label ?? d.drive.device}` : ''}`;
          return jobs.start(
            'export',
            label,
            ctx.tenantId,
            (job) =>
              exportSiteBundle(
                {
                  store,
                  config,
                  clock,
                  logger: log,
                  keys,
                  streams,
                  registry: deps.registry,
                  remote: remoteArtifacts,
                  repoDir: deps.repos.dirOf,
                  branch: deps.repos.branch,
                  workRoot: dirs.work,
                },
                {
                  tenantId: ctx.tenantId,
                  siteId: input.siteId,
                  full: input.full,
                  expiresDays: expiresDays(input.expiresDays),
                  overwrite: input.overwrite,
                  dest: d,
                },
                job,
              ),
            auditEnd(ctx, 'bundle.export.done', `site/${input.siteId}`),
          );
        },
        async exportStatus(input, ctx) {
          if (config.role !== 'lo')
            throw new OutpostError(
              'conflict',
              `this server runs with --role ${config.role}: status bundles are written by the LO of an air-gapped site (--role lo)`,
            );
          requirePathRights(ctx, input.out);
          const d = dest(input);
          return jobs.start(
            'export-status',
            `status bundle of ${config.site.id}${d.drive ? ` to drive ${d.drive.label ?? d.drive.device}` : ''}`,
            ctx.tenantId,
            (job) =>
              exportStatusBundle(
                {
                  store,
                  config,
                  clock,
                  keys,
                  streams,
                  fleet: deps.fleet,
                  registry: deps.registry,
                  desiredState: deps.desiredState,
                  workRoot: dirs.work,
                },
                {
                  full: input.full,
                  expiresDays: expiresDays(input.expiresDays),
                  overwrite: input.overwrite,
                  dest: d,
                },
                job,
              ),
            auditEnd(ctx, 'bundle.exportStatus.done', 'bundle-status'),
          );
        },
        async verify(input, ctx) {
          if (!drives.state().drives.some((d) => input.file?.startsWith(d.mountpoint + path.sep)))
            requirePathRights(ctx, input.file);
          const { file, name, label } = await fileOf(input);
          return jobs.start(
            'verify',
            `verify ${name}`,
            ctx.tenantId,
            async (job) => {
              const p = await importer.prepare(file, job, { fsync: false });
              await p.staged.remove();
              return {
                file,
                fileName: name,
                size: p.report.bytes,
                summary: null,
                report: p.report,
              };
            },
            auditEnd(ctx, 'bundle.verify.done', label),
          );
        },
        async import(input, ctx) {
          if (!drives.state().drives.some((d) => input.file?.startsWith(d.mountpoint + path.sep)))
            requirePathRights(ctx, input.file);
          const { file, name, label } = await fileOf(input);
          return jobs.start(
            'import',
            `import ${name}`,
            ctx.tenantId,
            (job) =>
              serialised(async () => {
                const p = await importer.prepare(file, job, { fsync: true });
                await importer.commit(p, job);
                if (input.uploadId) await uploads.remove(input.uploadId);
                deps.registry
                  .gc?.()
                  .catch((err: unknown) =>
                    log.warn(
                      { err: (err as Error).message },
                      'registry garbage collection after the import failed',
                    ),
                  );
                return {
                  file,
                  fileName: name,
                  size: p.report.bytes,
                  summary: null,
                  report: p.report,
                };
              }),
            auditEnd(ctx, 'bundle.import.done', label),
          );
        },
        async job(input) {
          return jobs.get(input.id);
        },
        async jobs() {
          return { jobs: jobs.list() };
        },
        async cancelJob(input) {
          return jobs.cancel(input.id);
        },
        async drives() {
          return drives.state();
        },
        async uploadStart(input) {
          const r = await uploads.start(input.name, input.size);
          return { uploadId: r.uploadId, chunkBytes: uploads.chunkBytes };
        },
        async uploadChunk(input) {
          const data = Buffer.from(input.data, 'base64');
          return { received: await uploads.append(input.uploadId, input.offset, data) };
        },
        async uploadFinish(input) {
          return uploads.finish(input.uploadId);
        },
        async readExport(input) {
          const job = jobs.get(input.jobId);
          const file = job.result?.file;
          if ((job.kind !== 'export' && job.kind !== 'export-status') || job.state !== 'succeeded' || !file)
            throw errors.notFound('exported file of job', input.jobId);
          const fh = await fsp.open(file, 'r').catch(() => {
            throw errors.notFound('exported file', file);
          });
          try {
            const size = (await fh.stat()).size;
            const buf = Buffer.alloc(Math.max(0, Math.min(input.length, size - input.offset)));
            if (buf.length) await fh.read(buf, 0, buf.length, input.offset);
            return { data: buf.toString('base64'), size, eof: input.offset + buf.length >= size };
          } finally {
            await fh.close();
          }
        },
        async siteAudit(input, ctx) {
          if (!deps.fleet.siteExists(ctx.tenantId, input.siteId)) throw errors.notFound('site', input.siteId);
          const rows = store.sqlite
            .prepare(
              `SELECT seq, at, record, bundle_sequence AS bundle FROM site_records WHERE site_id = ? AND stream = 'audit' ORDER BY seq DESC LIMIT ?`,
            )
            .all(input.siteId, input.limit) as { seq: number; at: number; record: string; bundle: number }[];
          return {
            entries: rows.map((r) => ({
              seq: r.seq,
              at: r.at,
              entry: JSON.parse(r.record) as unknown,
              bundle: r.bundle,
            })),
          };
        },
      },
    },
  };
}

/** The branch the last imported HQ bundle moved in the LO's mirror (`main` before any). */
export function bundleMirrorBranch(store: Store): string {
  const row = store.sqlite.prepare(`SELECT value FROM meta WHERE key = 'airgap.mirror'`).get() as
    { value: string } | undefined;
  if (!row) return 'main';
  try {
    return (JSON.parse(row.value) as { ref: string }).ref.replace(/^refs\/heads\//, '');
  } catch {
    return 'main';
  }
}
