import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { uploadSchema } from './common.js';
import type { ApplicationDescription, DeploymentProfile } from '../../model/index.js';

export const appSourceSchema = z.discriminatedUnion('kind', [
  /** The CLI or the console reads margo.yaml (and the files it references) and sends them. */
  z.object({ kind: z.literal('upload'), upload: uploadSchema }).strict(),
  /** The server fetches a git repository over HTTP(S). `path` is margo.yaml or the folder holding it. */
  z
    .object({
      kind: z.literal('git'),
      url: z.string().min(1),
      ref: z.string().min(1).optional(),
      path: z.string().optional(),
    })
    .strict(),
]);
export type AppSource = z.infer<typeof appSourceSchema>;

export const recordedSourceSchema = z.object({
  kind: z.enum(['upload', 'git']),
  /** upload: the file name; git: the repository URL (credentials never stored here). */
  location: z.string(),
  ref: z.string().nullable(),
  commit: z.string().nullable(),
  path: z.string().nullable(),
});

export const appSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  tagline: z.string().nullable(),
  vendor: z.string().nullable(),
  site: z.string().nullable(),
  /** data: URI of the icon, when the description names one that could be read. */
  icon: z.string().nullable(),
  latestVersion: z.string(),
  versions: z.array(z.string()),
  profileTypes: z.array(z.string()),
  createdAt: z.number(),
  updatedAt: z.number(),
});
export type AppSummary = z.infer<typeof appSummarySchema>;

export const appVersionSchema = z.object({
  appId: z.string(),
  version: z.string(),
  digest: z.string(),
  description: z.custom<ApplicationDescription>((v) => typeof v === 'object' && v !== null),
  warnings: z.array(
    z.object({
      path: z.string(),
      message: z.string(),
      line: z.number().optional(),
      column: z.number().optional(),
    }),
  ),
  source: recordedSourceSchema,
  createdAt: z.number(),
  createdBy: z.string(),
});
export type AppVersion = z.infer<typeof appVersionSchema>;

export const profileSummary = (p: DeploymentProfile) => `${p.id} (${p.type})`;

export const appsService = defineService('apps', {
  list: query({
    summary: 'Applications of the App Store, each with its versions.',
    input: z.object({ search: z.string().optional() }).strict().default({}),
    output: z.object({ apps: z.array(appSummarySchema) }),
  }),
  get: query({
    summary: 'One application and one of its versions (default: the newest).',
    input: z.object({ id: z.string().min(1), version: z.string().optional() }).strict(),
    output: z.object({ app: appSummarySchema, version: appVersionSchema, original: z.string() }),
    errors: ['not-found'],
  }),
  add: command({
    summary: 'Register an application version from a Margo ApplicationDescription (upload or git).',
    input: z
      .object({
        source: appSourceSchema,
        /** When given, the description's id must equal it (the seed's `--name`). */
        expectId: z.string().optional(),
      })
      .strict(),
    output: z.object({ app: appSummarySchema, version: appVersionSchema, created: z.boolean() }),
    errors: [
      'margo/invalid-description',
      'already-exists',
      'conflict',
      'git-error',
      'network-error',
      'payload-too-large',
    ],
    auditTarget: (i) =>
      i.source.kind === 'git' ? `app-from/${i.source.url}` : `app-from/${i.source.upload.fileName}`,
  }),
  remove: command({
    summary: 'Remove an application, or one of its versions.',
    input: z.object({ id: z.string().min(1), version: z.string().optional() }).strict(),
    output: z.object({ removedVersions: z.array(z.string()), appRemoved: z.boolean() }),
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `app/${i.id}${i.version ? `@${i.version}` : ''}`,
  }),
});
