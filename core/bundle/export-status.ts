import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Config } from '../config.js';
import { bundleFileName, writeBundle, type BlobInput } from '../../lib/bundle/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import type { BundleSummary } from '../store/schema/index.js';
import type { Fleet } from '../fleet/module.js';
import { fileIn, type Destination } from './destination.js';
import type { JobControl, JobOutcome } from './jobs.js';
import type { SigningKeys } from './keys.js';
import { JsonMediaType, NdjsonMediaType, Role, type NodeRecord, type StatusMeta } from './meta.js';
import type { BundleRegistryAccess } from './registry-port.js';
import type { Streams } from './streams.js';

export interface ExportStatusDeps {
  store: Store;
  config: Config;
  clock: Clock;
  keys: SigningKeys;
  streams: Streams;
  fleet: Fleet;
  registry: BundleRegistryAccess;
  /** The desired state the LO serves (the commit it adopted). */
  desiredState(tenantId: string): { commit: string | null; adoptedAt: number | null };
  workRoot: string;
}

interface Ranges {
  statuses: number;
  audit: number;
  events: number;
}

/** Writes rows as NDJSON, one query page at a time (constant memory whatever the backlog). */
async function writeNdjson(
  file: string,
  stream: string,
  page: (after: number) => { seq: number; line: unknown }[],
  from: number,
): Promise<{ count: number; last: number }> {
  const out = fs.createWriteStream(file);
  // A first line naming the stream: blobs are deduplicated by digest, and two empty streams must stay two.
  out.write(`${JSON.stringify({ stream })}\n`);
  let count = 0;
  let last = from;
  try {
    for (;;) {
      const rows = page(last);
      if (rows.length === 0) break;
      for (const r of rows) {
        if (!out.write(`${JSON.stringify(r.line)}\n`))
          await new Promise<void>((res) => out.once('drain', () => res()));
        last = r.seq;
        count++;
      }
    }
  } finally {
    await new Promise<void>((res, rej) => {
      out.once('error', rej);
      out.end(() => res());
    });
  }
  return { count, last };
}

/**
 * The site LO writes a status bundle for HQ (issue 13, ADR 0407): its nodes with capabilities and
 * presence, every deployment status reported since the last status bundle HQ acknowledged (with the
 * time it was reported), the audit entries and node events since then, and what its site registry
 * holds, so HQ's next bundle carries only what is missing.
 */
export async function exportStatusBundle(
  deps: ExportStatusDeps,
  input: { full: boolean; expiresDays: number; overwrite: boolean; dest: Destination },
  job: JobControl,
): Promise<JobOutcome> {
  const { store, config, clock } = deps;
  if (config.role !== 'lo')
    throw new OutpostError(
      'conflict',
      `this server runs with --role ${config.role}: status bundles are written by the LO of an air-gapped site (--role lo)`,
    );
  const me = deps.streams.identity();
  const siteId = me.siteId!;
  const hq = me.statusTarget!;
  const tenantId = config.tenancy.defaultTenant;
  const key = { kind: 'site-to-hq' as const, source: siteId, target: hq };
  const back = { kind: 'hq-to-site' as const, source: hq, target: siteId };
  const acked = deps.streams.get(key)?.acknowledged ?? null;
  const ackedCovers = acked !== null ? deps.streams.covers(key, acked) : undefined;
  const from: Ranges =
    input.full || !ackedCovers
      ? { statuses: 0, audit: 0, events: 0 }
      : {
          statuses: Number(ackedCovers.statuses ?? 0),
          audit: Number(ackedCovers.audit ?? 0),
          events: Number(ackedCovers.events ?? 0),
        };

  job.phase('collecting');
  const work = path.join(deps.workRoot, `status-${crypto.randomBytes(6).toString('hex')}`);
  await fsp.mkdir(work, { recursive: true });
  try {
    const now = clock.now();
    const nodes: NodeRecord[] = deps.fleet.listNodeRows(tenantId, siteId).map((n) => ({
      name: n.name,
      state: n.state,
      labels: n.labels,
      capabilities: n.capabilities ?? null,
      capabilitiesAt: n.capabilitiesAt,
      lastSeenAt: n.lastSeenAt,
      enrolledAt: n.enrolledAt,
      revokedAt: n.revokedAt,
    }));
    const nodesFile = path.join(work, 'nodes.json');
    await fsp.writeFile(nodesFile, JSON.stringify(nodes));

    const sql = store.sqlite;
    const PAGE = 1000;
    const reportsQ = sql.prepare(
      `SELECT seq, deployment_id AS deploymentId, node_uid AS clientId, digest, body, received_at AS receivedAt
       FROM status_reports WHERE seq > ? ORDER BY seq LIMIT ${PAGE}`,
    );
    const statuses = await writeNdjson(
      path.join(work, 'statuses.ndjson'),
      'statuses',
      (after) =>
        (
          reportsQ.all(after) as {
            seq: number;
            deploymentId: string;
            clientId: string;
            digest: string | null;
            body: string;
            receivedAt: number;
          }[]
        ).map((r) => ({
          seq: r.seq,
          line: {
            seq: r.seq,
            clientId: r.clientId,
            deploymentId: r.deploymentId,
            digest: r.digest,
            receivedAt: r.receivedAt,
            status: JSON.parse(r.body) as unknown,
          },
        })),
      from.statuses,
    );
    const auditQ = sql.prepare(
      `SELECT seq, at, actor, transport, action, target, input, result, error_code AS errorCode, error_message AS errorMessage, duration_ms AS durationMs
       FROM audit WHERE seq > ? AND (tenant_id = ? OR tenant_id IS NULL) ORDER BY seq LIMIT ${PAGE}`,
    );
    const audit = await writeNdjson(
      path.join(work, 'audit.ndjson'),
      'audit',
      (after) =>
        (auditQ.all(after, tenantId) as { seq: number; at: number; input: string | null }[]).map((r) => ({
          seq: r.seq,
          line: {
            seq: r.seq,
            at: r.at,
            entry: { ...r, input: r.input === null ? null : (JSON.parse(r.input) as unknown) },
          },
        })),
      from.audit,
    );
    const eventsQ = sql.prepare(
      `SELECT seq, node_uid AS nodeUid, kind, body, created_at AS createdAt FROM lo_outbox WHERE seq > ? AND kind = 'events' ORDER BY seq LIMIT ${PAGE}`,
    );
    const events = await writeNdjson(
      path.join(work, 'events.ndjson'),
      'events',
      (after) =>
        (
          eventsQ.all(after) as {
            seq: number;
            nodeUid: string;
            kind: string;
            body: string;
            createdAt: number;
          }[]
        ).map((r) => ({
          seq: r.seq,
          line: { ...r, body: JSON.parse(r.body) as unknown },
        })),
      from.events,
    );
    // What the site registry holds (tagged manifests): HQ leaves those out of its next bundle.
    const manifests: string[] = [];
    const reg = deps.registry.store();
    if (reg) {
      for (const repository of await reg.repositories())
        for (const tag of (await reg.listTags(repository)) ?? []) {
          const m = await reg.getManifest(repository, tag);
          if (m) manifests.push(`${repository}@${m.digest}`);
        }
    }
    const registryFile = path.join(work, 'registry.json');
    await fsp.writeFile(registryFile, JSON.stringify({ manifests: [...new Set(manifests)].sort() }));

    const desired = deps.desiredState(tenantId);
    const carried = {
      nodes: nodes.length,
      statuses: statuses.count,
      audit: audit.count,
      events: events.count,
      manifests: manifests.length,
    };
    const meta: StatusMeta = {
      type: 'outpost.site-status',
      siteId,
      siteName: config.site.name,
      desiredState: { commit: desired.commit, adoptedAt: desired.adoptedAt },
      ranges: {
        statuses: { from: from.statuses, to: statuses.last },
        audit: { from: from.audit, to: audit.last },
        events: { from: from.events, to: events.last },
      },
      full: input.full,
      carried,
    };
    const blobs: BlobInput[] = [
      { role: Role.nodes, mediaType: JsonMediaType, source: { file: nodesFile } },
      { role: Role.registry, mediaType: JsonMediaType, source: { file: registryFile } },
      {
        role: Role.statuses,
        mediaType: NdjsonMediaType,
        source: { file: path.join(work, 'statuses.ndjson') },
      },
      { role: Role.events, mediaType: NdjsonMediaType, source: { file: path.join(work, 'events.ndjson') } },
      { role: Role.audit, mediaType: NdjsonMediaType, source: { file: path.join(work, 'audit.ndjson') } },
    ];
    const current = deps.keys.current();
    const sequence = deps.streams.reserve(key, {
      statuses: statuses.last,
      audit: audit.last,
      events: events.last,
      signer: current.row.keyId,
    });
    const file = fileIn(input.dest, bundleFileName({ source: siteId, target: hq, sequence }));
    job.phase('writing');
    try {
      const written = await writeBundle({
        file,
        header: {
          kind: 'site-to-hq',
          source: siteId,
          target: hq,
          sequence,
          created: new Date(now),
          expires: new Date(now + input.expiresDays * 86_400_000),
          acknowledged: deps.streams.lastImported(back),
          git: null,
          meta: meta as unknown as Record<string, unknown>,
        },
        blobs,
        signer: deps.keys.signer(),
        rotations: deps.keys.rotationsSince((ackedCovers?.signer as string | undefined) ?? null),
        overwrite: input.overwrite,
        signal: job.signal,
        clock,
        onProgress: (p) => job.progress(p.bytes, p.totalBytes ?? null),
      });
      const summary: BundleSummary = {
        sequence,
        created: Date.parse(written.index.created),
        bytes: written.size,
        blobs: written.index.blobs.length,
        carried,
        file: written.file,
        gitTo: null,
        indexDigest: written.indexDigest,
        signer: written.index.signer,
      };
      deps.streams.written(key, sequence, written.file, summary);
      return {
        file: written.file,
        fileName: path.basename(written.file),
        size: written.size,
        summary,
        report: null,
        throughput: written.blobBytes / Math.max(written.seconds, 0.001),
      };
    } catch (err) {
      deps.streams.failed(key, sequence);
      throw err;
    }
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}
