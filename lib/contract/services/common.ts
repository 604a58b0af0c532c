import { z } from 'zod';
import {
  CONTROL_CHARACTERS,
  CONTROL_CHARACTERS_IN_TEXT,
  NO_CONTROL_CHARACTERS,
  PRESENCES,
} from '../../model/index.js';

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
// Control characters: the character classes of lib/model (the Margo readers use the same ones).

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
export const presenceSchema = z.enum(PRESENCES);
export type { Presence } from '../../model/index.js';

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
