import { and, asc, eq } from 'drizzle-orm';
import semver from 'semver';
import type { CoreModule } from '../module.js';
import type { Config } from '../config.js';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { EventHub } from '../events.js';
import { apps, appVersions, deviceModels } from '../store/schema/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import type { AppSummary, AppVersion, DeviceModel } from '../../lib/contract/index.js';
import type { ApplicationDescription } from '../../lib/model/index.js';
import { addApp } from './add-app.js';
import { parseDeviceModelFile } from './device-model-file.js';

export interface CatalogModuleDeps {
  config: Config;
  store: Store;
  clock: Clock;
  events: EventHub;
  env?: NodeJS.ProcessEnv;
  /** How many deployments use an app (version); set by the deployments module. A used version cannot be removed. */
  deploymentsOfApp?: (tenantId: string, appId: string, version?: string) => number;
}

type VersionRow = typeof appVersions.$inferSelect;

/** Compares Margo versions: SemVer when both parse (build metadata written `_`), else text. */
export function compareVersions(a: string, b: string): number {
  const va = semver.valid(a.replace(/_/g, '+')) ?? semver.valid(semver.coerce(a));
  const vb = semver.valid(b.replace(/_/g, '+')) ?? semver.valid(semver.coerce(b));
  if (va && vb) {
    const c = semver.compare(va, vb);
    if (c !== 0) return c;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface Catalog {
  /** One stored version (normalised description + original bytes), or undefined. */
  version(tenantId: string, appId: string, version?: string): VersionRow | undefined;
}

/** The App Store (applications and their versions) and the Device Store (device models). */
export function createCatalogModule(deps: CatalogModuleDeps): CoreModule & { catalog: Catalog } {
  const { store, clock, events, config } = deps;
  const db = store.db;

  const versionsOf = (tenantId: string, appId: string): VersionRow[] =>
    db
      .select()
      .from(appVersions)
      .where(and(eq(appVersions.tenantId, tenantId), eq(appVersions.appId, appId)))
      .all()
      .sort((x, y) => compareVersions(x.version, y.version));

  const summary = (tenantId: string, appId: string, rows = versionsOf(tenantId, appId)): AppSummary => {
    const app = db
      .select()
      .from(apps)
      .where(and(eq(apps.tenantId, tenantId), eq(apps.id, appId)))
      .get();
    if (!app || rows.length === 0) throw errors.notFound('application', appId);
    const latest = rows[rows.length - 1]!;
    const d = latest.description as ApplicationDescription;
    const icon = [...rows].reverse().find((r) => r.icon)?.icon ?? null;
    return {
      id: appId,
      name: d.metadata.name,
      tagline: d.metadata.catalog.application?.tagline ?? null,
      vendor: d.metadata.catalog.organization[0]?.name ?? null,
      site: d.metadata.catalog.application?.site ?? d.metadata.catalog.organization[0]?.site ?? null,
      icon,
      latestVersion: latest.version,
      versions: rows.map((r) => r.version),
      profileTypes: [...new Set(d.deploymentProfiles.map((p) => p.type))],
      createdAt: app.createdAt,
      updatedAt: app.updatedAt,
    };
  };

  const versionView = (r: VersionRow): AppVersion => ({
    appId: r.appId,
    version: r.version,
    digest: r.digest,
    description: r.description as ApplicationDescription,
    warnings: r.warnings as AppVersion['warnings'],
    source: r.source as AppVersion['source'],
    createdAt: r.createdAt,
    createdBy: r.createdBy,
  });

  const catalog: Catalog = {
    version(tenantId, appId, version) {
      const rows = versionsOf(tenantId, appId);
      return version === undefined ? rows[rows.length - 1] : rows.find((r) => r.version === version);
    },
  };

  const modelCount = store.sqlite.prepare(
    'SELECT count(*) AS n FROM nodes WHERE tenant_id = ? AND model_id = ?',
  );
  const modelView = (m: typeof deviceModels.$inferSelect): DeviceModel => ({
    id: m.id,
    name: m.name,
    vendor: m.vendor,
    modelNumber: m.modelNumber,
    description: m.description,
    runtimes: m.runtimes,
    deploymentTypes: m.deploymentTypes,
    capabilities: m.capabilities as DeviceModel['capabilities'],
    icon: m.icon,
    documentationUrl: m.documentationUrl,
    nodeCount: (modelCount.get(m.tenantId, m.id) as { n: number }).n,
    createdAt: m.createdAt,
  });
  const modelRow = (tenantId: string, id: string) =>
    db
      .select()
      .from(deviceModels)
      .where(and(eq(deviceModels.tenantId, tenantId), eq(deviceModels.id, id)))
      .get();

  const counts = {
    apps: store.sqlite.prepare('SELECT count(*) AS n FROM apps WHERE tenant_id = ?'),
    models: store.sqlite.prepare('SELECT count(*) AS n FROM device_models WHERE tenant_id = ?'),
  };

  return {
    name: 'catalog',
    catalog,
    counts: (tenantId) => ({
      apps: (counts.apps.get(tenantId) as { n: number }).n,
      deviceModels: (counts.models.get(tenantId) as { n: number }).n,
    }),
    handlers: {
      apps: {
        async list(input, ctx) {
          const ids = db
            .select({ id: apps.id })
            .from(apps)
            .where(eq(apps.tenantId, ctx.tenantId))
            .orderBy(asc(apps.id))
            .all();
          let list = ids.map(({ id }) => summary(ctx.tenantId, id));
          if (input.search) {
            const q = input.search.toLowerCase();
            list = list.filter((a) =>
              [a.id, a.name, a.tagline ?? '', a.vendor ?? ''].some((s) => s.toLowerCase().includes(q)),
            );
          }
          return { apps: list };
        },
        async get(input, ctx) {
          const rows = versionsOf(ctx.tenantId, input.id);
          if (rows.length === 0) throw errors.notFound('application', input.id);
          const row =
            input.version === undefined
              ? rows[rows.length - 1]!
              : rows.find((r) => r.version === input.version);
          if (!row) {
            throw new OutpostError(
              'not-found',
              `application "${input.id}" has no version "${input.version}" (versions: ${rows.map((r) => r.version).join(', ')})`,
              {
                data: { what: 'application version', id: input.id, version: input.version },
              },
            );
          }
          return {
            app: summary(ctx.tenantId, input.id, rows),
            version: versionView(row),
            original: Buffer.from(row.original).toString('utf8'),
          };
        },
        async add(input, ctx) {
          const r = await addApp({ store, config, clock, env: deps.env }, input, ctx);
          if (r.created) events.changed(ctx.tenantId, 'apps');
          const rows = versionsOf(ctx.tenantId, r.appId);
          return {
            app: summary(ctx.tenantId, r.appId, rows),
            version: versionView(rows.find((x) => x.version === r.version)!),
            created: r.created,
          };
        },
        async remove(input, ctx) {
          const rows = versionsOf(ctx.tenantId, input.id);
          if (rows.length === 0) throw errors.notFound('application', input.id);
          const targets =
            input.version === undefined ? rows : rows.filter((r) => r.version === input.version);
          if (targets.length === 0)
            throw new OutpostError(
              'not-found',
              `application "${input.id}" has no version "${input.version}"`,
            );
          const used = deps.deploymentsOfApp?.(ctx.tenantId, input.id, input.version) ?? 0;
          if (used > 0) {
            throw new OutpostError(
              'conflict',
              `${input.id}${input.version ? ` version ${input.version}` : ''} is used by ${used} deployment${used === 1 ? '' : 's'}; remove them first`,
            );
          }
          const removeAll = targets.length === rows.length;
          store.tx(() => {
            for (const t of targets) {
              db.delete(appVersions)
                .where(
                  and(
                    eq(appVersions.tenantId, ctx.tenantId),
                    eq(appVersions.appId, input.id),
                    eq(appVersions.version, t.version),
                  ),
                )
                .run();
            }
            if (removeAll)
              db.delete(apps)
                .where(and(eq(apps.tenantId, ctx.tenantId), eq(apps.id, input.id)))
                .run();
          });
          events.changed(ctx.tenantId, 'apps');
          return { removedVersions: targets.map((t) => t.version), appRemoved: removeAll };
        },
      },
      deviceModels: {
        async list(_input, ctx) {
          return {
            models: db
              .select()
              .from(deviceModels)
              .where(eq(deviceModels.tenantId, ctx.tenantId))
              .orderBy(asc(deviceModels.id))
              .all()
              .map(modelView),
          };
        },
        async get(input, ctx) {
          const m = modelRow(ctx.tenantId, input.id);
          if (!m) throw errors.notFound('device model', input.id);
          return modelView(m);
        },
        async add(input, ctx) {
          const spec = parseDeviceModelFile(input.upload, config.catalog.maxDescriptionBytes);
          const existing = modelRow(ctx.tenantId, spec.id);
          if (existing && !input.replace) {
            throw new OutpostError(
              'already-exists',
              `device model "${spec.id}" already exists (use --replace to update it)`,
            );
          }
          const values = {
            tenantId: ctx.tenantId,
            id: spec.id,
            name: spec.name,
            vendor: spec.vendor,
            modelNumber: spec.modelNumber,
            description: spec.description,
            runtimes: spec.runtimes,
            deploymentTypes: spec.deploymentTypes,
            capabilities: spec.capabilities,
            icon: spec.icon,
            documentationUrl: spec.documentationUrl,
            original: Buffer.from(spec.original),
            createdAt: existing?.createdAt ?? clock.now(),
          };
          store.tx(() => {
            if (existing) {
              db.delete(deviceModels)
                .where(and(eq(deviceModels.tenantId, ctx.tenantId), eq(deviceModels.id, spec.id)))
                .run();
            }
            db.insert(deviceModels).values(values).run();
          });
          events.changed(ctx.tenantId, 'device-models');
          return modelView(modelRow(ctx.tenantId, spec.id)!);
        },
        async remove(input, ctx) {
          const m = modelRow(ctx.tenantId, input.id);
          if (!m) throw errors.notFound('device model', input.id);
          const n = (modelCount.get(ctx.tenantId, m.id) as { n: number }).n;
          if (n > 0)
            throw new OutpostError(
              'conflict',
              `device model "${m.id}" is used by ${n} node${n === 1 ? '' : 's'}`,
            );
          store.tx(() =>
            db
              .delete(deviceModels)
              .where(and(eq(deviceModels.tenantId, ctx.tenantId), eq(deviceModels.id, m.id)))
              .run(),
          );
          events.changed(ctx.tenantId, 'device-models');
          return { id: m.id };
        },
      },
    },
  };
}
