import { z } from 'zod';

/** Shared shapes of the console contract. */

/** Lowercase slug ids (sites, nodes, device models, tenants). */
export const slugSchema = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'use 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit',
  );

/** Label keys like Kubernetes: optional DNS prefix and a name. */
export const labelKeySchema = z
  .string()
  .regex(
    /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/,
    'not a valid label key',
  );
// The same character classes as core/margo/patterns.ts (the contract imports nothing from the rest of
// core; a test keeps the two equal).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const CONTROL_CHARACTERS_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
export const NO_CONTROL_CHARACTERS =
  'must not contain control characters (escape sequences, NUL, bidirectional overrides)';

/** A display name: no control characters (tables print it; an escape sequence or RTL override would act). */
export const nameTextSchema = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !CONTROL_CHARACTERS.test(v), NO_CONTROL_CHARACTERS);
/** Free text (descriptions): line breaks and tabs allowed, other control characters not. */
export const freeTextSchema = (max: number) =>
  z
    .string()
    .max(max)
    .refine((v) => !CONTROL_CHARACTERS_IN_TEXT.test(v), NO_CONTROL_CHARACTERS);
export const labelValueSchema = z
  .string()
  .max(253)
  .refine((v) => !CONTROL_CHARACTERS.test(v), NO_CONTROL_CHARACTERS);
export const labelsSchema = z.record(labelKeySchema, labelValueSchema);

/** Presence of a node, always with its age (never shown as healthy when not recently seen). */
export const presenceSchema = z.enum(['online', 'stale', 'offline', 'unknown']);
export type Presence = z.infer<typeof presenceSchema>;

export const outputFormatSchema = z.enum(['table', 'json', 'yaml']);

/** An uploaded text file plus the resources it references by relative path (base64). */
export const uploadSchema = z
  .object({
    fileName: z.string().min(1).max(255),
    content: z.string(),
    resources: z.record(z.string().max(512), z.string()).optional(),
  })
  .strict();
export type Upload = z.infer<typeof uploadSchema>;
