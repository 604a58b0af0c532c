import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import type { z } from 'zod';
import { and, eq } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { Config } from '../config.js';
import {
  formatPublicKey,
  parsePublicKey,
  stageBundle,
  type BundleExpectations,
  type BundleIndex,
  type StagedBundle,
} from '../../lib/bundle/index.js';
import { parseApplicationDescription, type ParsedApplicationDescription } from '../../lib/margo/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import type { BundleReport, Topic } from '../../lib/contract/index.js';
import type { DeploymentStatus } from '../../lib/model/index.js';
import {
  apps,
  appVersions,
  bundleImports,
  meta as metaTable,
  nodes as nodesTable,
  type BundleSummary,
} from '../store/schema/index.js';
import type { Fleet } from '../fleet/module.js';
import { manifestReferences, type ArtifactEntry } from './artifacts.js';
import { bundleError } from './errors.js';
import { checkRange, installPack, setMirrorRef } from './git-range.js';
import type { JobControl } from './jobs.js';
import {
  Role,
  appVersionSchema,
  auditRecordSchema,
  eventRecordSchema,
  hqMetaSchema,
  nodeRecordSchema,
  parseMeta,
  registryRecordSchema,
  statusMetaSchema,
  statusRecordSchema,
  type AppVersionBlob,
  type HqMeta,
  type StatusMeta,
} from './meta.js';
import type { BundleRegistryAccess } from './registry-port.js';
import type { StreamKey, Streams } from './streams.js';
import type { TrustStore } from './trust.js';

/**
 * Verifying and importing a bundle (issue 13, ADR 0406, 0407). One path for both: the bundle is staged
 * (signature against the trusted keys, the caller's checks, every digest while it streams, into a
 * staging folder), then its content is checked against this server without changing anything (the git
 * range is a fast-forward of the mirror, manifests and status records parse, the site registry can take
 * the artifacts). `verify` reports what would change and removes the staging folder. `import` writes the
 * plan to the journal, then applies it: blobs into the site registry, manifests and tags as one
 * journaled step, the git pack into the mirror, then one database transaction (the commit point), then
 * the mirror's ref, the state manifests and the agents. A crash anywhere after the journal row is
 * finished at the next start from the staging folder; before it, nothing changed.
 */

/** Named points where a test's crash hook kills the process during an import. */
export type Failpoint =
  'after-staging' | 'registry-blob' | 'registry-manifests' | 'git-objects' | 'after-commit' | 'git-ref';

export interface ImportDeps {
  store: Store;
  config: Config;
  clock: Clock;
  logger: Logger;
  trust: TrustStore;
  streams: Streams;
  registry: BundleRegistryAccess;
  fleet: Fleet;
  /** Records a deployment status (HQ: the deployments engine). */
  recordStatus(r: {
    clientId: string;
    status: DeploymentStatus;
    digest: string | undefined;
    receivedAt: number;
  }): void;
  /** The LO's desired-state mirror (role lo, all) and how to adopt it (rebuild manifests, tell agents). */
  mirrorDir: string;
  adoptDesiredState(tenantId: string): Promise<void>;
  stagingRoot: string;
  /** Topics changed after an import (console refresh). */
  changed(tenantId: string | null, ...topics: Topic[]): void;
  failpoint?: (name: Failpoint) => void;
}

interface HqPlan {
  kind: 'hq-to-site';
  key: StreamKey;
  sequence: number;
  indexDigest: string;
  summary: BundleSummary;
  acknowledged: number | null;
  tenantId: string;
  git: { ref: string; to: string; pack: { name: string; dir: string } | null } | null;
  /** Blobs for the site registry (not manifests: the registry stores those itself). */
  blobs: { digest: string; size: number }[];
  manifests: { repository: string; digest: string; mediaType: string; tags: string[] }[];
  apps: { appId: string; version: string; digest: string; blob: string }[];
  rotated: { keyId: string; publicKey: string; from: string }[];
  trustedAs: { name: string | null; site: string | null };
}

interface StatusPlan {
  kind: 'site-to-hq';
  key: StreamKey;
  sequence: number;
  indexDigest: string;
  summary: BundleSummary;
  acknowledged: number | null;
  siteId: string;
  tenantId: string;
  created: number;
  files: Record<'nodes' | 'statuses' | 'audit' | 'events' | 'registry', string>;
  /** Records at or below these the server already has. */
  above: { statuses: number; audit: number; events: number };
  state: {
    mirrorCommit: string | null;
    manifests: string[];
    statuses: number;
    audit: number;
    events: number;
  };
  rotated: { keyId: string; publicKey: string; from: string }[];
  trustedAs: { name: string | null; site: string | null };
}

type Plan = HqPlan | StatusPlan;

export interface Prepared {
  staged: StagedBundle;
  report: BundleReport;
  plan: Plan;
}

const MIRROR_META = 'airgap.mirror';

function summaryOf(
  index: BundleIndex,
  indexDigest: string,
  bytes: number,
  carried: Record<string, number>,
): BundleSummary {
  return {
    sequence: index.sequence,
    created: Date.parse(index.created),
    bytes,
    blobs: index.blobs.length,
    carried,
    file: null,
    gitTo: index.git?.to ?? null,
    indexDigest,
    signer: index.signer,
  };
}

/** The records of an NDJSON status blob, after its first line `{"stream": "<name>"}`. */
async function* lines<T>(
  file: string,
  stream: string,
  parse: (v: unknown, at: number) => T,
): AsyncGenerator<T> {
  const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw bundleError('bundle/invalid-content', `the ${stream} records: line ${n} is not JSON`);
    }
    if (n === 1) {
      if ((v as { stream?: unknown } | null)?.stream !== stream)
        throw bundleError(
          'bundle/invalid-content',
          `the ${stream} records do not start with their stream's name`,
        );
      continue;
    }
    yield parse(v, n);
  }
  if (n === 0) throw bundleError('bundle/invalid-content', `the ${stream} records are empty`);
}

export function createImporter(deps: ImportDeps) {
  const { store, config, clock } = deps;
  const db = store.db;
  const log = deps.logger.child({ component: 'bundle-import' });
  const site = config.role === 'lo';
  const fail = (name: Failpoint) => deps.failpoint?.(name);

  const mirrorState = (): { ref: string; commit: string } | undefined => {
    const r = db.select().from(metaTable).where(eq(metaTable.key, MIRROR_META)).get();
    return r ? (JSON.parse(r.value) as { ref: string; commit: string }) : undefined;
  };

  /**
   * Which bundles this server takes: an LO (role lo) takes HQ bundles for its site; HQ (roles co and all)
   * takes status bundles addressed to it.
   */
  const expectations = (): BundleExpectations =>
    config.role === 'lo'
      ? { kind: 'hq-to-site', site: config.site.id }
      : { kind: 'site-to-hq', target: config.airgap.hqId };

  function rotatedOf(staged: StagedBundle) {
    return {
      rotated: staged.report.signer.rotated.map((r) => ({
        keyId: r.to.keyId,
        publicKey: formatPublicKey(r.to),
        from: r.from,
      })),
      trustedAs: {
        name: staged.report.signer.trustedAs.name ?? null,
        site: staged.report.signer.trustedAs.site ?? null,
      },
    };
  }

  function baseReport(staged: StagedBundle): Omit<BundleReport, 'changes'> {
    const { report } = staged;
    return {
      kind: report.index.kind,
      source: report.index.source,
      target: report.index.target,
      siteId: report.site,
      sequence: report.index.sequence,
      lastSequence: report.lastSequence,
      created: Date.parse(report.index.created),
      expires: Date.parse(report.index.expires),
      signer: {
        keyId: report.signer.keyId,
        fingerprint: report.signer.fingerprint,
        trustedAs: report.signer.trustedAs.name ?? report.signer.trustedAs.publicKey.keyId,
        rotated: report.signer.rotated.map((r) => r.to.keyId),
      },
      bytes: report.bytes,
      blobs: report.blobs,
      indexDigest: report.indexDigest,
      warnings: report.warnings,
    };
  }

  /** The checks of an HQ bundle at the site, against the mirror, the registry and the catalog. */
  async function checkHq(staged: StagedBundle): Promise<{ plan: HqPlan; report: BundleReport }> {
    const { index } = staged.report;
    const meta: HqMeta = parseMeta(hqMetaSchema, index.meta, 'the bundle meta');
    const byRole = (role: string) => index.blobs.filter((b) => b.role === role);
    const tenantId = config.tenancy.defaultTenant;
    const work = path.join(staged.dir, '.outpost');
    await fsp.mkdir(work, { recursive: true });

    // Desired state: fast-forward only.
    const packs = byRole(Role.gitPack);
    if (packs.length > 1)
      throw bundleError('bundle/invalid-content', 'the bundle carries more than one git pack');
    let git: HqPlan['git'] = null;
    let gitChanges: BundleReport['changes']['git'] = null;
    if (index.git) {
      const checked = await checkRange({
        mirrorDir: deps.mirrorDir,
        range: index.git,
        packFile: packs[0] ? staged.blobPath(packs[0].digest) : null,
        workDir: work,
        siteId: config.site.id,
      });
      git = { ref: index.git.ref, to: index.git.to, pack: checked.pack };
      gitChanges = {
        ref: checked.ref,
        current: checked.current,
        from: checked.from,
        to: checked.to,
        commits: checked.commits,
        nodes: checked.nodes,
      };
    } else if (packs.length)
      throw bundleError('bundle/invalid-content', 'the bundle carries a git pack but no git range');

    // Artifacts: every manifest parses and every blob it names comes with it or is in the site registry.
    const reg = deps.registry.store();
    const manifestBlobs = byRole(Role.ociManifest);
    const ociBlobs = byRole(Role.ociBlob);
    if ((manifestBlobs.length || ociBlobs.length || meta.artifacts.length) && !reg)
      throw bundleError(
        'bundle/not-applicable',
        'the bundle carries OCI artifacts and this server runs no site registry (registry.enabled is false)',
      );
    const inBundle = new Set(index.blobs.map((b) => b.digest));
    const present = async (digest: string) =>
      inBundle.has(digest) || (reg ? (await reg.statBlob(digest)) !== undefined : false);
    const manifestInfo = new Map<string, { mediaType: string }>();
    for (const m of manifestBlobs) {
      const bytes = await fsp.readFile(staged.blobPath(m.digest));
      let refs;
      try {
        refs = manifestReferences(bytes, m.digest);
      } catch (err) {
        throw bundleError('bundle/invalid-content', (err as Error).message);
      }
      for (const d of refs.blobs)
        if (!(await present(d.digest)))
          throw bundleError(
            'bundle/invalid-content',
            `manifest ${m.digest} names blob ${d.digest}, which neither the bundle nor the site registry has`,
          );
      manifestInfo.set(m.digest, { mediaType: m.mediaType });
    }
    const manifests: HqPlan['manifests'] = [];
    let newArtifacts = 0;
    const references: string[] = [];
    const existing = new Set<string>();
    const addManifest = async (e: ArtifactEntry, digest: string, mediaType: string, tags: string[]) => {
      const have = reg ? await reg.getManifest(e.repository, digest) : undefined;
      if (!have && !manifestInfo.has(digest))
        throw bundleError(
          'bundle/invalid-content',
          `${e.reference} (${digest}) is neither in the bundle nor in the site registry`,
        );
      const k = `${e.repository}@${digest}`;
      if (existing.has(k)) {
        const prev = manifests.find((x) => x.repository === e.repository && x.digest === digest);
        for (const t of tags) if (prev && !prev.tags.includes(t)) prev.tags.push(t);
        return !have;
      }
      existing.add(k);
      manifests.push({ repository: e.repository, digest, mediaType, tags });
      return !have;
    };
    for (const e of meta.artifacts) {
      references.push(e.reference);
      for (const c of e.children) await addManifest(e, c.digest, c.mediaType, []);
      const tagged = e.tag ? await reg?.getManifest(e.repository, e.tag) : undefined;
      const isNew = await addManifest(e, e.digest, e.mediaType, e.tag ? [e.tag] : []);
      if (isNew || (e.tag && tagged?.digest !== e.digest)) newArtifacts++;
    }
    let newBytes = 0;
    const blobs: HqPlan['blobs'] = [];
    for (const b of ociBlobs) {
      blobs.push({ digest: b.digest, size: b.size });
      if (!(reg && (await reg.statBlob(b.digest)))) newBytes += b.size;
    }
    if (reg && newBytes > 0) {
      const u = reg.usage();
      if (u.quotaBytes !== null && u.usedBytes + newBytes > u.quotaBytes)
        throw bundleError(
          'bundle/no-space',
          `the site registry's quota would be exceeded: ${newBytes} new bytes, ${u.quotaBytes - u.usedBytes} left; run edgectl registry gc or raise registry.quotaBytes`,
        );
      if (u.freeBytes < newBytes)
        throw bundleError(
          'bundle/no-space',
          `the site registry's disk has ${u.freeBytes} bytes free, the bundle brings ${newBytes}`,
        );
    }

    // Application descriptions: each parses, and matches what the meta says it is.
    const appBlobs = byRole(Role.app);
    const planApps: HqPlan['apps'] = [];
    let newApps = 0;
    for (const b of appBlobs) {
      let body;
      try {
        body = parseMeta(
          appVersionSchema,
          JSON.parse(await fsp.readFile(staged.blobPath(b.digest), 'utf8')),
          'an application description',
        );
      } catch (err) {
        if (err instanceof OutpostError) throw err;
        throw bundleError(
          'bundle/invalid-content',
          `an application description is not JSON: ${(err as Error).message}`,
        );
      }
      const parsed = (() => {
        try {
          return parseApplicationDescription(body.original, { maxBytes: config.catalog.maxDescriptionBytes });
        } catch (err) {
          throw bundleError(
            'bundle/invalid-content',
            `application ${body.appId} ${body.version}: ${(err as Error).message}`,
          );
        }
      })();
      const digest = `sha256:${crypto.createHash('sha256').update(parsed.bytes).digest('hex')}`;
      if (
        parsed.description.id !== body.appId ||
        parsed.description.metadata.version !== body.version ||
        digest !== body.digest
      )
        throw bundleError(
          'bundle/invalid-content',
          `application ${body.appId} ${body.version} does not match its description`,
        );
      const have = db
        .select({ digest: appVersions.digest })
        .from(appVersions)
        .where(
          and(
            eq(appVersions.tenantId, tenantId),
            eq(appVersions.appId, body.appId),
            eq(appVersions.version, body.version),
          ),
        )
        .get();
      if (have?.digest !== digest) newApps++;
      planApps.push({ appId: body.appId, version: body.version, digest, blob: b.digest });
    }
    const unexpected = index.blobs.filter(
      (b) => ![Role.gitPack, Role.ociManifest, Role.ociBlob, Role.app].includes(b.role as never),
    );
    if (unexpected.length)
      throw bundleError(
        'bundle/invalid-content',
        `an HQ bundle carries a blob of role "${unexpected[0]!.role}"`,
      );

    const { rotated, trustedAs } = rotatedOf(staged);
    const plan: HqPlan = {
      kind: 'hq-to-site',
      key: { kind: index.kind, source: index.source, target: index.target },
      sequence: index.sequence,
      indexDigest: staged.report.indexDigest,
      summary: summaryOf(index, staged.report.indexDigest, staged.report.bytes, meta.carried),
      acknowledged: index.acknowledged,
      tenantId,
      git,
      blobs,
      manifests,
      apps: planApps,
      rotated,
      trustedAs,
    };
    const report: BundleReport = {
      ...baseReport(staged),
      changes: {
        git: gitChanges,
        artifacts: { total: meta.artifacts.length, new: newArtifacts, newBytes, references },
        apps: {
          total: planApps.length,
          new: newApps,
          names: planApps.map((a) => `${a.appId} ${a.version}`),
        },
        status: null,
        newKeys: rotated.map((r) => r.keyId),
        acknowledges: index.acknowledged,
      },
    };
    return { plan, report };
  }

  /** The checks of a status bundle at HQ: the site is known, every record parses. */
  async function checkStatus(staged: StagedBundle): Promise<{ plan: StatusPlan; report: BundleReport }> {
    const { index } = staged.report;
    const meta: StatusMeta = parseMeta(statusMetaSchema, index.meta, 'the bundle meta');
    if (meta.siteId !== index.source)
      throw bundleError(
        'bundle/invalid-content',
        `the status is for site ${meta.siteId}, the bundle comes from ${index.source}`,
      );
    const tenantId = deps.fleet.siteTenant(index.source);
    if (!tenantId)
      throw bundleError(
        'bundle/not-applicable',
        `site ${index.source} is not known here (or more than one tenant has a site of that name): add it with edgectl co add site ${index.source} --air-gapped`,
      );
    const roles = ['nodes', 'statuses', 'audit', 'events', 'registry'] as const;
    const files = {} as StatusPlan['files'];
    for (const r of roles) {
      const role = Role[r];
      const found = index.blobs.filter((b) => b.role === role);
      if (found.length !== 1)
        throw bundleError(
          'bundle/invalid-content',
          `a status bundle carries ${found.length} "${role}" blobs, not one`,
        );
      files[r] = found[0]!.digest;
    }
    if (index.blobs.length !== roles.length)
      throw bundleError('bundle/invalid-content', 'a status bundle carries blobs it should not');
    const back = deps.streams.get({ kind: index.kind, source: index.source, target: index.target });
    const prev = (back?.state ?? {}) as Partial<StatusPlan['state']>;
    const above = { statuses: prev.statuses ?? 0, audit: prev.audit ?? 0, events: prev.events ?? 0 };
    const readJson = async (digest: string) => {
      try {
        return JSON.parse(await fsp.readFile(staged.blobPath(digest), 'utf8')) as unknown;
      } catch (err) {
        throw bundleError('bundle/invalid-content', `a status blob is not JSON: ${(err as Error).message}`);
      }
    };
    const nodesValue = await readJson(files.nodes);
    if (!Array.isArray(nodesValue))
      throw bundleError('bundle/invalid-content', 'the node records are not a list');
    nodesValue.forEach((n, i) => parseMeta(nodeRecordSchema, n, `node record ${i + 1}`));
    const registry = parseMeta(
      registryRecordSchema,
      await readJson(files.registry),
      'the site registry record',
    );
    const count = async (
      digest: string,
      stream: string,
      schema: z.ZodType<{ seq: number }>,
      what: string,
      floor: number,
    ) => {
      let n = 0;
      let last = 0;
      for await (const r of lines(staged.blobPath(digest), stream, (v, at) =>
        parseMeta(schema, v, `${what} line ${at}`),
      )) {
        if (r.seq <= last) throw bundleError('bundle/invalid-content', `${what} are not in order`);
        last = r.seq;
        if (r.seq > floor) n++;
      }
      return n;
    };
    const statuses = await count(
      files.statuses,
      'statuses',
      statusRecordSchema,
      'the status records',
      above.statuses,
    );
    const audit = await count(files.audit, 'audit', auditRecordSchema, 'the audit records', above.audit);
    const events = await count(files.events, 'events', eventRecordSchema, 'the event records', above.events);
    const { rotated, trustedAs } = rotatedOf(staged);
    const created = Date.parse(index.created);
    const plan: StatusPlan = {
      kind: 'site-to-hq',
      key: { kind: index.kind, source: index.source, target: index.target },
      sequence: index.sequence,
      indexDigest: staged.report.indexDigest,
      summary: summaryOf(index, staged.report.indexDigest, staged.report.bytes, meta.carried),
      acknowledged: index.acknowledged,
      siteId: index.source,
      tenantId,
      created,
      files,
      above,
      state: {
        mirrorCommit: meta.desiredState.commit,
        manifests: registry.manifests,
        statuses: Math.max(above.statuses, meta.ranges.statuses.to),
        audit: Math.max(above.audit, meta.ranges.audit.to),
        events: Math.max(above.events, meta.ranges.events.to),
      },
      rotated,
      trustedAs,
    };
    const report: BundleReport = {
      ...baseReport(staged),
      changes: {
        git: null,
        artifacts: { total: 0, new: 0, newBytes: 0, references: [] },
        apps: { total: 0, new: 0, names: [] },
        status: { statuses, nodes: nodesValue.length, audit, events, asOf: created },
        newKeys: rotated.map((r) => r.keyId),
        acknowledges: index.acknowledged,
      },
    };
    return { plan, report };
  }

  /** Stages and checks a bundle; the caller removes the staging folder (verify) or applies it (import). */
  async function prepare(source: string, job: JobControl, options: { fsync: boolean }): Promise<Prepared> {
    const id = crypto.randomBytes(8).toString('hex');
    const stagingDir = path.join(deps.stagingRoot, id);
    job.phase('reading');
    const staged = await stageBundle({
      source,
      trust: deps.trust.trust(),
      expect: expectations(),
      lastSequence: (s) => deps.streams.lastImported(s),
      clock,
      signal: job.signal,
      stagingDir,
      fsync: options.fsync,
      onProgress: (p) => job.progress(p.bytes, p.totalBytes ?? null),
    });
    try {
      job.phase('checking');
      const { plan, report } =
        staged.report.index.kind === 'hq-to-site' ? await checkHq(staged) : await checkStatus(staged);
      return { staged, report, plan };
    } catch (err) {
      await staged.remove();
      throw err;
    }
  }

  // ---- apply ------------------------------------------------------------------------------------

  const readStagedOrStored = async (stagingDir: string, digest: string): Promise<Buffer> => {
    const file = path.join(stagingDir, 'blobs', 'sha256', digest.slice(7));
    return fsp.readFile(file);
  };

  async function applyHq(plan: HqPlan, stagingDir: string, journalId: string): Promise<void> {
    const reg = deps.registry.store();
    // 1. Blobs into the site registry (renamed from staging; those it has are left).
    if (plan.blobs.length || plan.manifests.length) {
      if (!reg) throw bundleError('bundle/not-applicable', 'this server runs no site registry');
      let n = 0;
      for (const b of plan.blobs) {
        if (await reg.statBlob(b.digest)) continue;
        const file = path.join(stagingDir, 'blobs', 'sha256', b.digest.slice(7));
        await reg.adoptBlobFile(file, { digest: b.digest, size: b.size, verified: true });
        if (++n === 1) fail('registry-blob');
      }
      // 2. Manifests and tags, as one journaled step of the registry (children before the index).
      const items = [];
      for (const m of plan.manifests) {
        items.push({
          repository: m.repository,
          bytes: await readStagedOrStored(stagingDir, m.digest).catch(async () => {
            const have = await reg.getManifest(m.repository, m.digest);
            if (!have)
              throw new OutpostError('internal', `manifest ${m.digest} is neither staged nor stored`);
            return have.bytes;
          }),
          mediaType: m.mediaType,
          tags: m.tags,
        });
      }
      if (items.length) await reg.commitManifests(items);
      fail('registry-manifests');
    }
    // 3. Git objects into the mirror (the ref moves after the commit point).
    if (plan.git?.pack) {
      const packDir = path.join(stagingDir, '.outpost', 'check.git', 'objects', 'pack');
      await installPack(deps.mirrorDir, plan.git.ref.replace(/^refs\/heads\//, ''), {
        name: plan.git.pack.name,
        dir: packDir,
      });
      fail('git-objects');
    }
    // 4. The commit point: one transaction.
    const appRows: { body: AppVersionBlob; parsed: ParsedApplicationDescription }[] = [];
    for (const a of plan.apps) {
      const body = parseMeta(
        appVersionSchema,
        JSON.parse(await fsp.readFile(path.join(stagingDir, 'blobs', 'sha256', a.blob.slice(7)), 'utf8')),
        'app',
      );
      const parsed = parseApplicationDescription(body.original, {
        maxBytes: config.catalog.maxDescriptionBytes,
      });
      appRows.push({ body, parsed });
    }
    const now = clock.now();
    store.tx(() => {
      for (const { body, parsed } of appRows) {
        const where = and(
          eq(appVersions.tenantId, plan.tenantId),
          eq(appVersions.appId, body.appId),
          eq(appVersions.version, body.version),
        );
        const have = db.select({ digest: appVersions.digest }).from(appVersions).where(where).get();
        if (have?.digest === body.digest) continue;
        db.insert(apps)
          .values({ tenantId: plan.tenantId, id: body.appId, createdAt: now, updatedAt: now })
          .onConflictDoUpdate({ target: [apps.tenantId, apps.id], set: { updatedAt: now } })
          .run();
        if (have) db.delete(appVersions).where(where).run();
        db.insert(appVersions)
          .values({
            tenantId: plan.tenantId,
            appId: body.appId,
            version: body.version,
            digest: body.digest,
            description: parsed.description,
            original: Buffer.from(parsed.bytes),
            warnings: parsed.warnings.map(({ path: p, message, line, column }) => ({
              path: p,
              message,
              line,
              column,
            })),
            source: {
              kind: 'upload',
              location: `bundle ${plan.key.source} #${plan.sequence}`,
              ref: null,
              commit: null,
              path: null,
            },
            icon: body.icon,
            createdAt: now,
            createdBy: `bundle:${plan.key.source}`,
          })
          .run();
      }
      pinRotated(plan);
      deps.streams.imported(plan.key, plan.summary);
      deps.streams.acknowledge(
        { kind: 'site-to-hq', source: plan.key.target, target: plan.key.source },
        plan.acknowledged,
      );
      if (plan.git)
        db.insert(metaTable)
          .values({
            key: MIRROR_META,
            value: JSON.stringify({ ref: plan.git.ref, commit: plan.git.to }),
            updatedAt: now,
          })
          .onConflictDoUpdate({
            target: metaTable.key,
            set: { value: JSON.stringify({ ref: plan.git.ref, commit: plan.git.to }), updatedAt: now },
          })
          .run();
      db.update(bundleImports)
        .set({ state: 'applied', finishedAt: now })
        .where(eq(bundleImports.id, journalId))
        .run();
    });
    fail('after-commit');
    // 5. After the commit point: the mirror's ref, the manifests, the agents.
    await finishHq(plan.tenantId);
  }

  async function finishHq(tenantId: string): Promise<void> {
    const m = mirrorState();
    if (m) {
      await setMirrorRef(deps.mirrorDir, m.ref, m.commit);
      fail('git-ref');
    }
    await deps.adoptDesiredState(tenantId);
    deps.changed(tenantId, 'bundles', 'apps', 'system');
  }

  function pinRotated(plan: Plan): void {
    if (!plan.rotated.length) return;
    deps.trust.pinRotated(
      plan.rotated.map((r) => ({ from: r.from, to: parsePublicKey(r.publicKey) })),
      plan.trustedAs,
    );
  }

  async function applyStatus(plan: StatusPlan, stagingDir: string, journalId: string): Promise<void> {
    const blob = (digest: string) => path.join(stagingDir, 'blobs', 'sha256', digest.slice(7));
    const nodeRecords = (JSON.parse(await fsp.readFile(blob(plan.files.nodes), 'utf8')) as unknown[]).map(
      (n) => parseMeta(nodeRecordSchema, n, 'node'),
    );
    // Everything in memory is bounded by what the site sent since HQ's last acknowledgement; read the
    // records first, then write them in one transaction.
    const statuses: ReturnType<typeof statusRecordSchema.parse>[] = [];
    for await (const r of lines(blob(plan.files.statuses), 'statuses', (v) =>
      parseMeta(statusRecordSchema, v, 'status'),
    ))
      if (r.seq > plan.above.statuses) statuses.push(r);
    const audit: ReturnType<typeof auditRecordSchema.parse>[] = [];
    for await (const r of lines(blob(plan.files.audit), 'audit', (v) =>
      parseMeta(auditRecordSchema, v, 'audit'),
    ))
      if (r.seq > plan.above.audit) audit.push(r);
    const events: ReturnType<typeof eventRecordSchema.parse>[] = [];
    for await (const r of lines(blob(plan.files.events), 'events', (v) =>
      parseMeta(eventRecordSchema, v, 'event'),
    ))
      if (r.seq > plan.above.events) events.push(r);
    const now = clock.now();
    const insertRecord = store.sqlite.prepare(
      `INSERT OR IGNORE INTO site_records (site_id, stream, seq, at, record, bundle_sequence) VALUES (?, ?, ?, ?, ?, ?)`,
    );
    let dropped = 0;
    store.tx(() => {
      for (const n of nodeRecords) {
        const existing = deps.fleet.nodeByName(plan.tenantId, n.name);
        if (existing && existing.siteId !== plan.siteId) {
          dropped++;
          continue;
        }
        const uid = `${plan.tenantId}.${n.name}`;
        const values = {
          state: n.state,
          capabilities: n.capabilities,
          capabilitiesAt: n.capabilitiesAt,
          lastSeenAt: Math.max(existing?.lastSeenAt ?? 0, n.lastSeenAt ?? 0) || null,
          enrolledAt: existing?.enrolledAt ?? n.enrolledAt,
          revokedAt: n.revokedAt,
        };
        if (existing) {
          // The site's capabilities replace ours only when newer; HQ's labels stay HQ's.
          const newer = (n.capabilitiesAt ?? 0) >= (existing.capabilitiesAt ?? 0);
          db.update(nodesTable)
            .set({
              ...values,
              ...(newer
                ? {}
                : { capabilities: existing.capabilities, capabilitiesAt: existing.capabilitiesAt }),
            })
            .where(eq(nodesTable.uid, existing.uid))
            .run();
        } else
          db.insert(nodesTable)
            .values({
              uid,
              tenantId: plan.tenantId,
              name: n.name,
              siteId: plan.siteId,
              labels: {},
              createdAt: now,
              ...values,
            })
            .run();
      }
      for (const s of statuses) {
        const node = deps.fleet.remoteNode(plan.tenantId, plan.siteId, s.clientId);
        if (!node) {
          dropped++;
          continue;
        }
        deps.recordStatus({
          clientId: node.uid,
          status: s.status as unknown as DeploymentStatus,
          digest: s.digest ?? undefined,
          receivedAt: s.receivedAt,
        });
      }
      for (const a of audit)
        insertRecord.run(plan.siteId, 'audit', a.seq, a.at, JSON.stringify(a.entry), plan.sequence);
      for (const e of events)
        insertRecord.run(
          plan.siteId,
          'events',
          e.seq,
          e.createdAt,
          JSON.stringify({ nodeUid: e.nodeUid, kind: e.kind, body: e.body }),
          plan.sequence,
        );
      pinRotated(plan);
      deps.streams.imported(plan.key, plan.summary, plan.state);
      deps.streams.acknowledge(
        { kind: 'hq-to-site', source: plan.key.target, target: plan.key.source },
        plan.acknowledged,
      );
      db.update(bundleImports)
        .set({ state: 'applied', finishedAt: now })
        .where(eq(bundleImports.id, journalId))
        .run();
    });
    if (dropped)
      log.warn(
        { site: plan.siteId, dropped },
        'status records for nodes this server places elsewhere were dropped',
      );
    deps.changed(plan.tenantId, 'nodes', 'sites', 'deployments', 'bundles');
  }

  async function apply(plan: Plan, stagingDir: string, journalId: string): Promise<void> {
    if (plan.kind === 'hq-to-site') await applyHq(plan, stagingDir, journalId);
    else await applyStatus(plan, stagingDir, journalId);
  }

  return {
    prepare,
    /** Imports a prepared bundle: the journal row, then the apply; the staging folder is removed at the end. */
    async commit(prepared: Prepared, job: JobControl): Promise<void> {
      const id = path.basename(prepared.staged.dir);
      fail('after-staging');
      job.uncancellable();
      job.phase('applying');
      db.insert(bundleImports)
        .values({
          id,
          kind: prepared.plan.kind,
          source: prepared.plan.key.source,
          target: prepared.plan.key.target,
          sequence: prepared.plan.sequence,
          indexDigest: prepared.plan.indexDigest,
          state: 'applying',
          stagingDir: prepared.staged.dir,
          plan: prepared.plan as unknown as Record<string, unknown>,
          startedAt: clock.now(),
          finishedAt: null,
          error: null,
        })
        .run();
      await apply(prepared.plan, prepared.staged.dir, id);
      await prepared.staged.remove();
    },
    /** At start: finishes imports a crash interrupted, re-points the mirror, removes stale staging folders. */
    async recover(): Promise<number> {
      let finished = 0;
      const pending = db.select().from(bundleImports).where(eq(bundleImports.state, 'applying')).all();
      for (const j of pending) {
        try {
          if (!fs.existsSync(j.stagingDir)) throw new Error(`its staging folder ${j.stagingDir} is gone`);
          log.warn(
            { id: j.id, source: j.source, sequence: j.sequence },
            'finishing a bundle import interrupted by a restart',
          );
          await apply(j.plan as unknown as Plan, j.stagingDir, j.id);
          finished++;
        } catch (err) {
          log.error(
            { id: j.id, err: (err as Error).message },
            'an interrupted bundle import could not be finished; it is abandoned (import the bundle again)',
          );
          db.update(bundleImports)
            .set({ state: 'abandoned', finishedAt: clock.now(), error: (err as Error).message })
            .where(eq(bundleImports.id, j.id))
            .run();
        }
      }
      if (site && mirrorState())
        await finishHq(config.tenancy.defaultTenant).catch((err: unknown) =>
          log.error(
            { err: (err as Error).message },
            'the desired-state mirror could not be set from the last import',
          ),
        );
      // Staging folders of no running import: left by a crash before the journal row, or already applied.
      const keep = new Set(
        db
          .select({ dir: bundleImports.stagingDir })
          .from(bundleImports)
          .where(eq(bundleImports.state, 'applying'))
          .all()
          .map((r) => r.dir),
      );
      const names = await fsp.readdir(deps.stagingRoot).catch(() => [] as string[]);
      for (const n of names) {
        const dir = path.join(deps.stagingRoot, n);
        if (!keep.has(dir)) await fsp.rm(dir, { recursive: true, force: true });
      }
      return finished;
    },
    mirrorState,
  };
}

export type Importer = ReturnType<typeof createImporter>;
