import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { uploadSchema } from './common.js';
import type { DeviceCapabilities } from '../../model/index.js';

export const deviceModelSchema = z.object({
  id: z.string(),
  name: z.string(),
  vendor: z.string(),
  modelNumber: z.string(),
  description: z.string().nullable(),
  /** What the model can run: Margo runtimes plus ours (`oci`, `custom`, `wasm`, `ocre`). */
  runtimes: z.array(z.string()),
  deploymentTypes: z.array(z.string()),
  capabilities: z.custom<DeviceCapabilities>((v) => typeof v === 'object' && v !== null),
  icon: z.string().nullable(),
  documentationUrl: z.string().nullable(),
  nodeCount: z.number().int().nonnegative(),
  createdAt: z.number(),
});
export type DeviceModel = z.infer<typeof deviceModelSchema>;

export const deviceModelsService = defineService('deviceModels', {
  list: query({
    summary: 'Device models of the Device Store.',
    input: z.object({}).strict().default({}),
    output: z.object({ models: z.array(deviceModelSchema) }),
  }),
  get: query({
    summary: 'One device model.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: deviceModelSchema,
    errors: ['not-found'],
  }),
  add: command({
    summary: 'Register a device model from its YAML or JSON file.',
    input: z.object({ upload: uploadSchema, replace: z.boolean().default(false) }).strict(),
    output: deviceModelSchema,
    errors: ['invalid-input', 'already-exists'],
    auditTarget: (i) => `device-model-from/${i.upload.fileName}`,
  }),
  remove: command({
    summary: 'Remove a device model that no node uses.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: z.object({ id: z.string() }),
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `device-model/${i.id}`,
  }),
});
