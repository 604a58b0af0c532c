import { and, desc, eq } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Config } from '../config.js';
import { bundleExports, bundleStreams, type BundleSummary } from '../store/schema/index.js';
import type { BundleIdentity, BundleStreamView } from '../../lib/contract/index.js';
import type { BundleKind } from '../../lib/bundle/index.js';

/**
 * The bundle streams in the database (ADR 0401): one row per (kind, source, target) with the last bundle
 * each way, the other side's acknowledgement, and what the receiving end keeps to export only what is
 * lacking. The exporter takes the next sequence here before it writes the file.
 */
export interface StreamKey {
  kind: BundleKind;
  source: string;
  target: string;
}

type Row = typeof bundleStreams.$inferSelect;

export interface Streams {
  identity(): BundleIdentity;
  get(key: StreamKey): Row | undefined;
  lastImported(key: StreamKey): number | null;
  /** Takes the next sequence of an outgoing stream and records the bundle as being written. */
  reserve(key: StreamKey, covers: Record<string, unknown>): number;
  /** The file is in place: the stream's last export moves to it. */
  written(key: StreamKey, sequence: number, file: string, summary: BundleSummary): void;
  failed(key: StreamKey, sequence: number): void;
  /** What an exported bundle covered (for exporting from the acknowledged one on). */
  covers(key: StreamKey, sequence: number): Record<string, unknown> | undefined;
  /** Records an import (call inside the apply transaction). */
  imported(key: StreamKey, summary: BundleSummary, state?: Record<string, unknown>): void;
  /** The other side imported up to `sequence` of our outgoing stream (call inside the apply transaction). */
  acknowledge(key: StreamKey, sequence: number | null): void;
  setState(key: StreamKey, state: Record<string, unknown>): void;
  list(siteId?: string): BundleStreamView[];
}

export function createStreams(deps: { store: Store; clock: Clock; config: Config }): Streams {
  const { store, clock, config } = deps;
  const db = store.db;
  const where = (k: StreamKey) =>
    and(
      eq(bundleStreams.kind, k.kind),
      eq(bundleStreams.source, k.source),
      eq(bundleStreams.target, k.target),
    );
  const ensure = (k: StreamKey) =>
    db
      .insert(bundleStreams)
      .values({ ...k })
      .onConflictDoNothing()
      .run();
  const hq = config.role !== 'lo';
  const site = config.role === 'lo';

  const streams: Streams = {
    identity() {
      const last = site
        ? db
            .select()
            .from(bundleStreams)
            .where(and(eq(bundleStreams.kind, 'hq-to-site'), eq(bundleStreams.target, config.site.id)))
            .orderBy(desc(bundleStreams.lastImportedAt))
            .all()
            .find((r) => r.lastImportedSequence !== null)
        : undefined;
      return {
        role: config.role,
        hqId: hq ? config.airgap.hqId : null,
        siteId: site ? config.site.id : null,
        statusTarget: site ? (last?.source ?? config.airgap.hqId) : null,
      };
    },
    get: (k) => db.select().from(bundleStreams).where(where(k)).get(),
    lastImported: (k) => streams.get(k)?.lastImportedSequence ?? null,
    reserve(k, covers) {
      return store.tx(() => {
        ensure(k);
        const row = streams.get(k)!;
        const maxExport = db
          .select({ sequence: bundleExports.sequence })
          .from(bundleExports)
          .where(
            and(
              eq(bundleExports.kind, k.kind),
              eq(bundleExports.source, k.source),
              eq(bundleExports.target, k.target),
            ),
          )
          .orderBy(desc(bundleExports.sequence))
          .get()?.sequence;
        const sequence = Math.max(row.lastExportedSequence ?? 0, maxExport ?? 0) + 1;
        db.insert(bundleExports)
          .values({
            ...k,
            sequence,
            state: 'writing',
            file: null,
            createdAt: clock.now(),
            summary: null,
            covers,
          })
          .run();
        return sequence;
      });
    },
    written(k, sequence, file, summary) {
      const now = clock.now();
      store.tx(() => {
        db.update(bundleExports)
          .set({ state: 'written', file, summary })
          .where(
            and(
              eq(bundleExports.kind, k.kind),
              eq(bundleExports.source, k.source),
              eq(bundleExports.target, k.target),
              eq(bundleExports.sequence, sequence),
            ),
          )
          .run();
        db.update(bundleStreams)
          .set({ lastExportedSequence: sequence, lastExportedAt: now, lastExported: summary })
          .where(where(k))
          .run();
      });
    },
    failed(k, sequence) {
      db.update(bundleExports)
        .set({ state: 'failed' })
        .where(
          and(
            eq(bundleExports.kind, k.kind),
            eq(bundleExports.source, k.source),
            eq(bundleExports.target, k.target),
            eq(bundleExports.sequence, sequence),
          ),
        )
        .run();
    },
    covers(k, sequence) {
      return db
        .select({ covers: bundleExports.covers })
        .from(bundleExports)
        .where(
          and(
            eq(bundleExports.kind, k.kind),
            eq(bundleExports.source, k.source),
            eq(bundleExports.target, k.target),
            eq(bundleExports.sequence, sequence),
          ),
        )
        .get()?.covers;
    },
    imported(k, summary, state) {
      ensure(k);
      db.update(bundleStreams)
        .set({
          lastImportedSequence: summary.sequence,
          lastImportedAt: clock.now(),
          lastImported: summary,
          ...(state ? { state } : {}),
        })
        .where(where(k))
        .run();
    },
    acknowledge(k, sequence) {
      if (sequence === null) return;
      ensure(k);
      const row = streams.get(k)!;
      if (row.acknowledged !== null && row.acknowledged >= sequence) return;
      db.update(bundleStreams)
        .set({ acknowledged: sequence, acknowledgedAt: clock.now() })
        .where(where(k))
        .run();
    },
    setState(k, state) {
      ensure(k);
      db.update(bundleStreams).set({ state }).where(where(k)).run();
    },
    list(siteId) {
      const me = streams.identity();
      return db
        .select()
        .from(bundleStreams)
        .all()
        .map((r): BundleStreamView => {
          const s = r.kind === 'hq-to-site' ? r.target : r.source;
          const out =
            (r.kind === 'hq-to-site' && me.hqId === r.source) ||
            (r.kind === 'site-to-hq' && me.siteId === r.source);
          return {
            kind: r.kind,
            source: r.source,
            target: r.target,
            siteId: s,
            direction: out ? 'out' : 'in',
            lastExportedAt: r.lastExportedAt,
            lastExported: r.lastExported ?? null,
            lastImportedAt: r.lastImportedAt,
            lastImported: r.lastImported ?? null,
            acknowledged: r.acknowledged,
            acknowledgedAt: r.acknowledgedAt,
          };
        })
        .filter((v) => siteId === undefined || v.siteId === siteId)
        .sort((a, b) =>
          a.siteId === b.siteId ? a.kind.localeCompare(b.kind) : a.siteId.localeCompare(b.siteId),
        );
    },
  };
  return streams;
}
