import crypto from 'node:crypto';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Config } from '../config.js';
import type { Clock } from '../../lib/base/index.js';
import { apps, appVersions } from '../store/schema/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { parseApplicationDescription } from '../../lib/margo/index.js';
import type { ApplicationDescription, MargoProblem } from '../../lib/model/index.js';
import type { AppSource, CallContext } from '../../lib/contract/index.js';
import { fetchGitRepo } from './git-source.js';

/** Largest icon kept with an application (it is shown on every App Store card). */
export const MAX_ICON_BYTES = 256 * 1024;

const ICON_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.svg': 'image/svg+xml',
};

export interface AddAppResult {
  appId: string;
  version: string;
  created: boolean;
}

interface Loaded {
  bytes: Uint8Array;
  fileName: string;
  readResource(rel: string): Promise<Uint8Array | undefined>;
  recorded: {
    kind: 'upload' | 'git';
    location: string;
    ref: string | null;
    commit: string | null;
    path: string | null;
  };
  dispose(): void;
}

/**
 * Registers one application version: read the description (upload or git), validate it, read its
 * icon, then store the normalised form and the exact bytes in one transaction. The same version with
 * the same bytes is a no-op; with different bytes it is refused. Nothing is stored on any error.
 */
export async function addApp(
  deps: { store: Store; config: Config; clock: Clock; env?: NodeJS.ProcessEnv },
  input: { source: AppSource; expectId?: string | undefined },
  ctx: CallContext,
): Promise<AddAppResult> {
  const setting = deps.config.catalog.privateGitHosts;
  const privateHosts = setting === 'everyone' || (setting === 'admins' && ctx.principal.admin);
  const loaded = await load(deps, input.source, { privateHosts });
  try {
    const { description, warnings, bytes } = parseApplicationDescription(loaded.bytes, {
      file: loaded.fileName,
      maxBytes: deps.config.catalog.maxDescriptionBytes,
    });
    if (input.expectId !== undefined && input.expectId !== description.id) {
      throw new OutpostError(
        'invalid-input',
        `${loaded.fileName}: the application id is "${description.id}", not "${input.expectId}" as given with --name`,
        { errors: [{ field: 'id', message: `expected "${input.expectId}"`, file: loaded.fileName }] },
      );
    }
    const iconWarnings: MargoProblem[] = [];
    const icon = await readIcon(description, loaded, iconWarnings);
    const digest = 'sha256:' + crypto.createHash('sha256').update(bytes).digest('hex');
    const version = description.metadata.version;
    const { db } = deps.store;
    const now = deps.clock.now();
    return deps.store.tx(() => {
      const existing = db
        .select({ digest: appVersions.digest })
        .from(appVersions)
        .where(
          and(
            eq(appVersions.tenantId, ctx.tenantId),
            eq(appVersions.appId, description.id),
            eq(appVersions.version, version),
          ),
        )
        .get();
      if (existing) {
        if (existing.digest === digest) return { appId: description.id, version, created: false };
        throw new OutpostError(
          'conflict',
          `${description.id} version ${version} is already registered with different content; publish a new version instead`,
          { data: { appId: description.id, version, existingDigest: existing.digest, newDigest: digest } },
        );
      }
      const app = db
        .select()
        .from(apps)
        .where(and(eq(apps.tenantId, ctx.tenantId), eq(apps.id, description.id)))
        .get();
      if (app) {
        db.update(apps)
          .set({ updatedAt: now })
          .where(and(eq(apps.tenantId, ctx.tenantId), eq(apps.id, description.id)))
          .run();
      } else {
        db.insert(apps)
          .values({ tenantId: ctx.tenantId, id: description.id, createdAt: now, updatedAt: now })
          .run();
      }
      db.insert(appVersions)
        .values({
          tenantId: ctx.tenantId,
          appId: description.id,
          version,
          digest,
          description,
          original: Buffer.from(bytes),
          warnings: [...warnings, ...iconWarnings].map(({ path: p, message, line, column }) => ({
            path: p,
            message,
            line,
            column,
          })),
          source: loaded.recorded,
          icon,
          createdAt: now,
          createdBy: ctx.principal.id,
        })
        .run();
      return { appId: description.id, version, created: true };
    });
  } finally {
    loaded.dispose();
  }
}

async function load(
  deps: { config: Config; env?: NodeJS.ProcessEnv },
  source: AppSource,
  policy: { privateHosts: boolean },
): Promise<Loaded> {
  if (source.kind === 'upload') {
    const { upload } = source;
    const bytes = Buffer.from(upload.content, 'utf8');
    return {
      bytes,
      fileName: upload.fileName,
      async readResource(rel) {
        const key = normaliseRel(rel);
        if (key === undefined) return undefined;
        const b64 = upload.resources?.[key] ?? upload.resources?.[`./${key}`];
        return b64 === undefined ? undefined : Buffer.from(b64, 'base64');
      },
      recorded: { kind: 'upload', location: upload.fileName, ref: null, commit: null, path: null },
      dispose() {},
    };
  }
  const repo = await fetchGitRepo(
    { url: source.url, ref: source.ref },
    deps.config.catalog,
    deps.env,
    policy,
  );
  try {
    const requested = (source.path ?? '').replace(/^\/+|\/+$/g, '');
    const candidates = /\.ya?ml$/i.test(requested) ? [requested] : [path.posix.join(requested, 'margo.yaml')];
    let bytes: Uint8Array | undefined;
    let found = '';
    for (const c of candidates) {
      bytes = await repo.read(c);
      if (bytes) {
        found = c;
        break;
      }
    }
    if (!bytes) {
      throw new OutpostError(
        'not-found',
        `no ${candidates[0]} in ${repo.url}${repo.ref ? ` at ${repo.ref}` : ''} (commit ${repo.commit.slice(0, 12)})`,
        { data: { url: repo.url, ref: repo.ref, commit: repo.commit, path: candidates[0] } },
      );
    }
    const base = path.posix.dirname(found);
    return {
      bytes,
      fileName: `${repo.url}:${found}`,
      async readResource(rel) {
        const key = normaliseRel(rel);
        return key === undefined ? undefined : repo.read(path.posix.join(base, key));
      },
      recorded: { kind: 'git', location: repo.url, ref: repo.ref, commit: repo.commit, path: found },
      dispose: () => repo.dispose(),
    };
  } catch (err) {
    repo.dispose();
    throw err;
  }
}

/** A relative resource path inside the package, or undefined for anything that leaves it. */
function normaliseRel(rel: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(rel) || rel.startsWith('/')) return undefined;
  const n = path.posix.normalize(rel).replace(/^\.\//, '');
  if (n === '..' || n.startsWith('../')) return undefined;
  return n;
}

async function readIcon(
  desc: ApplicationDescription,
  loaded: Loaded,
  warnings: MargoProblem[],
): Promise<string | null> {
  const ref = desc.metadata.catalog.application?.icon;
  if (!ref) return null;
  const field = 'metadata.catalog.application.icon';
  const type = ICON_TYPES[path.posix.extname(ref).toLowerCase()];
  if (!type) {
    warnings.push({
      path: field,
      message: `icon "${ref}" is not a png, jpg, gif, webp or svg file; no icon shown`,
      severity: 'warning',
    });
    return null;
  }
  const bytes = await loaded.readResource(ref);
  if (!bytes) {
    warnings.push({
      path: field,
      message: `icon "${ref}" was not found next to the description; no icon shown`,
      severity: 'warning',
    });
    return null;
  }
  if (bytes.byteLength > MAX_ICON_BYTES) {
    warnings.push({
      path: field,
      message: `icon "${ref}" is larger than ${MAX_ICON_BYTES / 1024} KiB; no icon shown`,
      severity: 'warning',
    });
    return null;
  }
  return `data:${type};base64,${Buffer.from(bytes).toString('base64')}`;
}
