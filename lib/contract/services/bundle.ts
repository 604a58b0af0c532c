import { z } from 'zod';
import { command, defineService, query } from '../define.js';

/**
 * Air-gap bundles (issue 13, ADR 0404): this server's signing key and the keys it trusts, exporting a
 * bundle for an air-gapped site (HQ) or a status bundle for HQ (site), verifying and importing one, the
 * removable drives the server sees, and the jobs that do the long work. Files are paths on the server's
 * machine (administrators only, except bundles on a mounted removable drive), or uploads made through
 * `uploadStart`/`uploadChunk`/`uploadFinish` (the console's file picker); an exported file is read back
 * with `readExport` (the console's download).
 */

const siteIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a site id');
const keyIdSchema = z
  .string()
  .transform((s) => s.trim().toUpperCase())
  .pipe(z.string().regex(/^[0-9A-F]{1,16}$/, 'a minisign key id (16 hex digits)'));

export const bundleKindSchema = z.enum(['hq-to-site', 'site-to-hq']);

export const bundleSigningKeySchema = z.object({
  keyId: z.string(),
  /** `sha256:<hex>` of the raw Ed25519 public key, for comparing out of band. */
  fingerprint: z.string(),
  /** minisign public-key file text. */
  publicKey: z.string(),
  /** Where the secret key is: a 0600 file, or sealed by the desktop's keychain. */
  storage: z.enum(['file', 'sealed']),
  current: z.boolean(),
  previousKeyId: z.string().nullable(),
  createdAt: z.number(),
  retiredAt: z.number().nullable(),
});
export type BundleSigningKey = z.infer<typeof bundleSigningKeySchema>;

export const trustedKeySchema = z.object({
  keyId: z.string(),
  fingerprint: z.string(),
  name: z.string().nullable(),
  /** Pinned for one site (status bundles from it), or null (any site: HQ's key as a site pins it). */
  siteId: z.string().nullable(),
  /** `operator` (trust add) or `rotation` (followed from a trusted key in an imported bundle). */
  origin: z.enum(['operator', 'rotation']),
  rotatedFrom: z.string().nullable(),
  addedAt: z.number(),
  removedAt: z.number().nullable(),
});
export type TrustedBundleKey = z.infer<typeof trustedKeySchema>;

export const bundleSummarySchema = z.object({
  sequence: z.number().int(),
  /** When the bundle was made (its index's `created`). */
  created: z.number(),
  bytes: z.number(),
  blobs: z.number().int(),
  /** What it carried: `commits`, `artifacts`, `artifactBytes`, `apps`, `statuses`, `nodes`, `audit`, `events`. */
  carried: z.record(z.string(), z.number()),
  file: z.string().nullable().optional(),
  gitTo: z.string().nullable().optional(),
  indexDigest: z.string(),
  signer: z.string(),
});
export type BundleSummaryView = z.infer<typeof bundleSummarySchema>;

export const bundleStreamSchema = z.object({
  kind: bundleKindSchema,
  source: z.string(),
  target: z.string(),
  /** The site the stream is about. */
  siteId: z.string(),
  /** `out`: this server writes the stream's bundles; `in`: it imports them. */
  direction: z.enum(['out', 'in']),
  lastExportedAt: z.number().nullable(),
  lastExported: bundleSummarySchema.nullable(),
  lastImportedAt: z.number().nullable(),
  lastImported: bundleSummarySchema.nullable(),
  /** The last sequence of this stream the other side says it imported, and when we learned it. */
  acknowledged: z.number().nullable(),
  acknowledgedAt: z.number().nullable(),
});
export type BundleStreamView = z.infer<typeof bundleStreamSchema>;

export const bundleIdentitySchema = z.object({
  role: z.enum(['co', 'lo', 'all']),
  /** The id this server writes as `source` of HQ bundles (roles co and all). */
  hqId: z.string().nullable(),
  /** The site this server serves (roles lo and all). */
  siteId: z.string().nullable(),
  /** Where a status bundle from here goes (the source of the last HQ bundle imported, else `airgap.hqId`). */
  statusTarget: z.string().nullable(),
});
export type BundleIdentity = z.infer<typeof bundleIdentitySchema>;

/** What importing a bundle would change (and, after an import, what it changed). */
export const bundleChangesSchema = z.object({
  git: z
    .object({
      ref: z.string(),
      /** The commit the receiver is at now (null: nothing adopted yet). */
      current: z.string().nullable(),
      from: z.string().nullable(),
      to: z.string(),
      /** New commits the bundle brings (0: the receiver is already there). */
      commits: z.number().int(),
      /** Node directories of this site whose desired state changes. */
      nodes: z.array(z.string()),
    })
    .nullable(),
  artifacts: z.object({
    total: z.number().int(),
    /** Artifacts (manifests) the site registry does not hold yet. */
    new: z.number().int(),
    /** Blob bytes the site registry does not hold yet. */
    newBytes: z.number(),
    references: z.array(z.string()),
  }),
  apps: z.object({ total: z.number().int(), new: z.number().int(), names: z.array(z.string()) }),
  /** Status bundles: records above what this server already has. */
  status: z
    .object({
      statuses: z.number().int(),
      nodes: z.number().int(),
      audit: z.number().int(),
      events: z.number().int(),
      asOf: z.number(),
    })
    .nullable(),
  /** Keys the bundle's rotation statements introduce (pinned on import with the trusted key's scope). */
  newKeys: z.array(z.string()),
  /** The other direction's acknowledgement the bundle carries. */
  acknowledges: z.number().nullable(),
});
export type BundleChanges = z.infer<typeof bundleChangesSchema>;

export const bundleReportSchema = z.object({
  kind: bundleKindSchema,
  source: z.string(),
  target: z.string(),
  siteId: z.string(),
  sequence: z.number().int(),
  /** The last sequence imported from this stream (the bundle moves it to `sequence`). */
  lastSequence: z.number().nullable(),
  created: z.number(),
  expires: z.number(),
  signer: z.object({
    keyId: z.string(),
    fingerprint: z.string(),
    trustedAs: z.string(),
    rotated: z.array(z.string()),
  }),
  bytes: z.number(),
  blobs: z.object({
    count: z.number().int(),
    bytes: z.number(),
    byRole: z.record(z.string(), z.object({ count: z.number().int(), bytes: z.number() })),
  }),
  indexDigest: z.string(),
  warnings: z.array(z.string()),
  changes: bundleChangesSchema,
});
export type BundleReport = z.infer<typeof bundleReportSchema>;

export const bundleJobSchema = z.object({
  id: z.string(),
  kind: z.enum(['export', 'export-status', 'verify', 'import']),
  state: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  /** What it does now: `collecting`, `writing`, `reading`, `checking`, `applying`, `done`. */
  phase: z.string(),
  /** A line for people: "bundle for plant-1 to /media/usb". */
  label: z.string(),
  bytes: z.number(),
  totalBytes: z.number().nullable(),
  /** Bytes per second over the last seconds, and the time left at that rate. */
  rate: z.number().nullable(),
  etaSeconds: z.number().nullable(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  error: z.object({ code: z.string(), message: z.string(), status: z.number() }).nullable(),
  /** export/export-status: the file written; verify/import: the report. */
  result: z
    .object({
      file: z.string().nullable(),
      fileName: z.string().nullable(),
      size: z.number().nullable(),
      /** Seconds spent and bytes per second over the whole job. */
      seconds: z.number(),
      throughput: z.number().nullable(),
      summary: bundleSummarySchema.nullable(),
      report: bundleReportSchema.nullable(),
    })
    .nullable(),
});
export type BundleJob = z.infer<typeof bundleJobSchema>;

export const driveBundleSchema = z.object({
  file: z.string(),
  name: z.string(),
  size: z.number(),
  /** What the file claims to be before it is verified (`peek`), or why it could not be read. */
  kind: bundleKindSchema.nullable(),
  source: z.string().nullable(),
  target: z.string().nullable(),
  sequence: z.number().nullable(),
  created: z.number().nullable(),
  /** Addressed to this server (and not imported yet): the console offers to verify and import it. */
  forHere: z.boolean(),
  /** Already imported here (its sequence is not above the stream's last). */
  imported: z.boolean(),
  error: z.string().nullable(),
});
export type DriveBundle = z.infer<typeof driveBundleSchema>;

export const driveSchema = z.object({
  device: z.string(),
  label: z.string().nullable(),
  model: z.string().nullable(),
  vendor: z.string().nullable(),
  transport: z.string().nullable(),
  size: z.number().nullable(),
  mountpoint: z.string(),
  freeBytes: z.number().nullable(),
  bundles: z.array(driveBundleSchema),
});
export type Drive = z.infer<typeof driveSchema>;

const fileOrUpload = z
  .object({
    /** A bundle file on the server's machine. */
    file: z.string().min(1).max(4096).optional(),
    /** A finished upload (`uploadFinish`). */
    uploadId: z
      .string()
      .regex(/^[A-Za-z0-9_-]{8,64}$/)
      .optional(),
  })
  .strict()
  .refine((v) => (v.file === undefined) !== (v.uploadId === undefined), {
    message: 'give exactly one of file and uploadId',
  });

const destination = {
  /** A file or a folder on the server's machine (a folder gets the default name). */
  out: z.string().min(1).max(4096).optional(),
  /** `auto`: the one removable drive mounted; or a drive's mount point. */
  drive: z.string().min(1).max(4096).optional(),
  /** Days until the bundle expires (default `airgap.expiresDays`, 30). */
  expiresDays: z.number().positive().max(3650).optional(),
  /** Replace a file of the same name. */
  overwrite: z.boolean().default(false),
};

export const bundleService = defineService('bundle', {
  identity: query({
    roles: ['viewer'],
    summary: "This server's bundle identity: its role, its HQ id and site id, where status bundles go.",
    input: z.object({}).strict().default({}),
    output: bundleIdentitySchema,
  }),
  keys: query({
    roles: ['admin'],
    summary: "This server's bundle signing keys (the current one signs; retired ones are kept).",
    input: z.object({}).strict().default({}),
    output: z.object({ keys: z.array(bundleSigningKeySchema) }),
  }),
  exportKey: command({
    roles: ['admin'],
    summary: "This server's current signing public key in minisign's format (made on first use).",
    input: z.object({}).strict().default({}),
    output: bundleSigningKeySchema,
    auditTarget: () => 'bundle-key',
  }),
  rotateKey: command({
    roles: ['admin'],
    summary:
      'Makes a new signing key; the old key signs it, and bundles carry the statement until acknowledged.',
    input: z.object({}).strict().default({}),
    output: z.object({ previous: bundleSigningKeySchema, current: bundleSigningKeySchema }),
    auditTarget: () => 'bundle-key',
  }),
  trustAdd: command({
    roles: ['admin'],
    summary: 'Pins a minisign public key whose bundles this server accepts (for one site, or any).',
    input: z
      .object({
        /** The public-key file text, or the bare base64 line (`minisign -P`). */
        publicKey: z.string().min(1).max(4096),
        name: z.string().min(1).max(200).optional(),
        siteId: siteIdSchema.optional(),
      })
      .strict(),
    output: trustedKeySchema,
    errors: ['bundle/invalid-key', 'already-exists', 'conflict'],
    auditTarget: (i) => `bundle-trust/${i.siteId ?? '*'}`,
  }),
  trustRemove: command({
    roles: ['admin'],
    summary: 'Removes a trusted key: its bundles (and rotations through it) are refused from now on.',
    input: z.object({ keyId: keyIdSchema }).strict(),
    output: trustedKeySchema,
    errors: ['not-found'],
    auditTarget: (i) => `bundle-trust/${i.keyId}`,
  }),
  trustList: query({
    roles: ['admin'],
    summary: 'Keys this server trusts (removed ones too, with the time they were removed).',
    input: z.object({}).strict().default({}),
    output: z.object({ keys: z.array(trustedKeySchema) }),
  }),
  streams: query({
    roles: ['viewer'],
    summary: 'The last bundle each way per site: sequence, time, size, what it carried, the acknowledgement.',
    input: z.object({ siteId: z.string().optional() }).strict().default({}),
    output: z.object({ streams: z.array(bundleStreamSchema), identity: bundleIdentitySchema }),
  }),
  export: command({
    roles: ['operator'],
    summary: 'Starts writing a bundle of everything an air-gapped site lacks (HQ): returns the job.',
    input: z
      .object({
        siteId: siteIdSchema,
        /** Everything, not only what the site lacks since its last acknowledged bundle. */
        full: z.boolean().default(false),
        ...destination,
      })
      .strict(),
    output: bundleJobSchema,
    errors: ['not-found', 'conflict', 'forbidden', 'bundle/no-drive'],
    auditTarget: (i) => `site/${i.siteId}`,
  }),
  exportStatus: command({
    roles: ['operator'],
    summary: "Starts writing this site's status bundle for HQ (LO): returns the job.",
    input: z
      .object({
        /** Everything, not only what HQ has not acknowledged. */
        full: z.boolean().default(false),
        ...destination,
      })
      .strict(),
    output: bundleJobSchema,
    errors: ['conflict', 'forbidden', 'bundle/no-drive'],
    auditTarget: () => 'bundle-status',
  }),
  verify: command({
    roles: ['operator'],
    summary:
      'Starts verifying a bundle against the trusted keys and this server, changing nothing: returns the job.',
    input: fileOrUpload,
    output: bundleJobSchema,
    errors: ['not-found', 'forbidden'],
    auditTarget: (i) => i.file ?? `upload/${i.uploadId}`,
  }),
  import: command({
    roles: ['operator'],
    summary: 'Starts importing a bundle (verify, then apply in one step): returns the job.',
    input: fileOrUpload,
    output: bundleJobSchema,
    errors: ['not-found', 'forbidden'],
    auditTarget: (i) => i.file ?? `upload/${i.uploadId}`,
  }),
  job: query({
    roles: ['viewer'],
    summary: 'One job: phase, bytes, rate, time left, and its result or error.',
    input: z.object({ id: z.string().min(1).max(64) }).strict(),
    output: bundleJobSchema,
    errors: ['not-found'],
  }),
  jobs: query({
    roles: ['viewer'],
    summary: 'Running and recent jobs, newest first.',
    input: z.object({}).strict().default({}),
    output: z.object({ jobs: z.array(bundleJobSchema) }),
  }),
  cancelJob: command({
    roles: ['operator'],
    summary: 'Cancels a running job (an import is cancelled only before it starts applying).',
    input: z.object({ id: z.string().min(1).max(64) }).strict(),
    output: bundleJobSchema,
    errors: ['not-found'],
    auditTarget: (i) => `bundle-job/${i.id}`,
  }),
  drives: query({
    roles: ['operator'],
    summary: 'Removable drives mounted on the server, with the bundles at their top level.',
    input: z.object({}).strict().default({}),
    output: z.object({
      drives: z.array(driveSchema),
      /** False when the server does not watch drives (disabled, or lsblk missing). */
      watching: z.boolean(),
      scannedAt: z.number().nullable(),
      error: z.string().nullable(),
    }),
  }),
  uploadStart: command({
    roles: ['operator'],
    summary: 'Starts uploading a bundle file from the console (then uploadChunk, uploadFinish).',
    input: z
      .object({
        name: z.string().min(1).max(255),
        size: z
          .number()
          .int()
          .min(0)
          .max(2 ** 45),
      })
      .strict(),
    output: z.object({ uploadId: z.string(), chunkBytes: z.number().int() }),
    errors: ['bundle/no-space'],
    auditTarget: (i) => `upload/${i.name}`,
  }),
  uploadChunk: command({
    roles: ['operator'],
    summary: 'Appends bytes (base64) at `offset` to an upload.',
    input: z
      .object({
        uploadId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/),
        offset: z.number().int().min(0),
        data: z.string().max(12 * 1024 * 1024),
      })
      .strict(),
    output: z.object({ received: z.number() }),
    errors: ['not-found', 'conflict'],
    quiet: true,
  }),
  uploadFinish: command({
    roles: ['operator'],
    summary: 'Ends an upload; the file can then be verified and imported by its upload id.',
    input: z.object({ uploadId: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/) }).strict(),
    output: z.object({ uploadId: z.string(), size: z.number() }),
    errors: ['not-found', 'conflict'],
    quiet: true,
  }),
  readExport: query({
    roles: ['operator'],
    summary: 'Reads bytes (base64) of the file an export job wrote (the console downloads it this way).',
    input: z
      .object({
        jobId: z.string().min(1).max(64),
        offset: z.number().int().min(0),
        length: z
          .number()
          .int()
          .min(1)
          .max(8 * 1024 * 1024),
      })
      .strict(),
    output: z.object({ data: z.string(), size: z.number(), eof: z.boolean() }),
    errors: ['not-found'],
  }),
  siteAudit: query({
    roles: ['viewer'],
    summary: "An air-gapped site's audit entries, as its status bundles carried them (HQ), newest first.",
    input: z
      .object({ siteId: z.string().min(1), limit: z.number().int().min(1).max(1000).default(100) })
      .strict(),
    output: z.object({
      entries: z.array(z.object({ seq: z.number(), at: z.number(), entry: z.unknown(), bundle: z.number() })),
    }),
  }),
});
