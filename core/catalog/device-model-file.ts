import path from 'node:path';
import { z } from 'zod';
import { OutpostError, type FieldProblem } from '../../lib/errors/index.js';
import { loadYaml } from '../../lib/margo/index.js';
import { parseDeviceCapabilities } from '../../lib/margo-validation/index.js';
import {
  DEPLOYMENT_TYPES,
  type Path,
  type PathSegment,
  type DeviceCapabilities,
} from '../../lib/model/index.js';
import { type Upload, freeTextSchema, nameTextSchema } from '../../lib/contract/index.js';
import { formatPath } from '../config.js';

/**
 * The Device Store's model file (YAML or JSON), written by a device developer:
 *
 * ```yaml
 * id: ecs-g12
 * name: EdgeCircuit G12            # optional
 * vendor: EdgeCircuit Systems
 * modelNumber: EF1.234.32
 * description: Fanless x86 edge box with a GPU
 * runtimes: [oci, custom, wasm]     # oci, custom, wasm, ocre
 * deploymentTypes: [compose, helm, custom]
 * capabilities:                     # a Margo DeviceCapabilities template, checked like a node's
 *                                   # report (rc.3; the rc.2 envelope and `cpu` are read as rc.3)
 *   properties: { vendor: ..., modelNumber: ..., cpus: [...], memory: 16Gi, ... }
 *   labels: { example.com/gpu: true }
 * icon: ./g12.png                   # a file uploaded beside it, or a data: URI
 * documentation: https://example.com/g12
 * ```
 */
const fileSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'use 1-63 lowercase letters, digits and dashes'),
    name: nameTextSchema(200).optional(),
    vendor: nameTextSchema(200),
    modelNumber: nameTextSchema(200),
    description: freeTextSchema(4000).optional(),
    runtimes: z.array(z.enum(['oci', 'custom', 'wasm', 'ocre'])).min(1),
    deploymentTypes: z.array(z.enum(DEPLOYMENT_TYPES)).min(1),
    capabilities: z
      .object({
        properties: z.record(z.string(), z.unknown()),
        labels: z.record(z.string(), z.unknown()).optional(),
      })
      .catchall(z.unknown()),
    icon: z.string().optional(),
    documentation: z.string().url().optional(),
  })
  .strict();

export interface DeviceModelSpec {
  id: string;
  name: string;
  vendor: string;
  modelNumber: string;
  description: string | null;
  runtimes: string[];
  deploymentTypes: string[];
  capabilities: DeviceCapabilities;
  icon: string | null;
  documentationUrl: string | null;
  original: Uint8Array;
}

const ICON_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
};

export function parseDeviceModelFile(upload: Upload, maxBytes: number): DeviceModelSpec {
  const file = upload.fileName;
  const src = loadYaml(upload.content, { file, maxBytes, what: 'device model', code: 'invalid-input' });
  const r = fileSchema.safeParse(src.value);
  if (!r.success) {
    const problems: FieldProblem[] = r.error.issues.map((i) => {
      const at = src.locate(i.path as (string | number)[], 'value');
      return {
        field: formatPath(i.path) || '(top level)',
        message:
          i.code === 'unrecognized_keys'
            ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`
            : i.message,
        file,
        ...(at ? { line: at.line, column: at.column } : {}),
      };
    });
    throw invalidFile(file, problems);
  }
  const v = r.data;
  const props = v.capabilities.properties;
  for (const [k, want] of [
    ['vendor', v.vendor],
    ['modelNumber', v.modelNumber],
  ] as const) {
    if (props[k] !== undefined && props[k] !== want) {
      const at = src.locate(['capabilities', 'properties', k], 'value');
      throw new OutpostError(
        'invalid-input',
        `${file}: capabilities.properties.${k} is "${String(props[k])}" but the model says "${want}"`,
        {
          errors: [
            {
              field: `capabilities.properties.${k}`,
              message: `must equal ${k} ("${want}")`,
              file,
              ...(at ?? {}),
            },
          ],
        },
      );
    }
  }
  let icon: string | null = null;
  if (v.icon) {
    if (v.icon.startsWith('data:image/')) icon = v.icon;
    else {
      const type = ICON_TYPES[path.posix.extname(v.icon).toLowerCase()];
      const b64 = upload.resources?.[v.icon] ?? upload.resources?.[v.icon.replace(/^\.\//, '')];
      if (!type || b64 === undefined) {
        throw new OutpostError(
          'invalid-input',
          `${file}: icon "${v.icon}" ${type ? 'was not found beside the file' : 'is not a png, jpg, svg, gif or webp image'}`,
          {
            errors: [{ field: 'icon', message: 'not readable', file }],
          },
        );
      }
      if (Buffer.from(b64, 'base64').byteLength > 256 * 1024) {
        throw new OutpostError('invalid-input', `${file}: icon "${v.icon}" is larger than 256 KiB`, {
          errors: [{ field: 'icon', message: 'too large', file }],
        });
      }
      icon = `data:${type};base64,${b64}`;
    }
  }
  return {
    id: v.id,
    name: v.name ?? `${v.vendor} ${v.modelNumber}`,
    vendor: v.vendor,
    modelNumber: v.modelNumber,
    description: v.description ?? null,
    runtimes: v.runtimes,
    deploymentTypes: v.deploymentTypes,
    capabilities: readTemplate(
      {
        ...v.capabilities,
        properties: { id: v.id, serialNumber: '', ...props, vendor: v.vendor, modelNumber: v.modelNumber },
      },
      file,
      (p) => src.locate(['capabilities', ...p], 'value'),
    ),
    icon,
    documentationUrl: v.documentation ?? null,
    original: src.bytes,
  };
}

/**
 * The capabilities template checked with the rules the LO applies to a node's report (rc.3, the rc.2
 * shape read and normalised), so that a model never promises what a node could not report. Problems
 * come back as this file's fields, with their lines.
 */
function readTemplate(
  template: Record<string, unknown>,
  file: string,
  locate: (path: Path) => { line: number; column: number } | undefined,
): DeviceCapabilities {
  // A template may still be written in the rc.2 shape: its envelope is dropped here (the MMI refuses it
  // on the wire, ADR 0103), `cpu` is read as `cpus` by the parser.
  const { apiVersion: _apiVersion, kind: _kind, ...rc3 } = template;
  try {
    return parseDeviceCapabilities(rc3);
  } catch (err) {
    if (!(err instanceof OutpostError) || !err.errors?.length) throw err;
    const problems: FieldProblem[] = err.errors.map((p) => {
      const at = locate(parseFieldPath(p.field));
      return {
        field: p.field ? `capabilities.${p.field}` : 'capabilities',
        message: p.message,
        file,
        ...(at ? { line: at.line, column: at.column } : {}),
      };
    });
    throw invalidFile(file, problems, err);
  }
}

/** One error for every problem of the file: the first five in the message, all in `errors`. */
function invalidFile(file: string, problems: FieldProblem[], cause?: unknown): OutpostError {
  const head = problems
    .slice(0, 5)
    .map((p) => `${p.field}: ${p.message}${p.line ? ` (line ${p.line}, column ${p.column})` : ''}`)
    .join('; ');
  return new OutpostError(
    'invalid-input',
    `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${head}`,
    { errors: problems, ...(cause === undefined ? {} : { cause }) },
  );
}

/** `properties.cpus[0]["a.b"]` → `['properties', 'cpus', 0, 'a.b']` (the Margo problem path format). */
function parseFieldPath(field: string): Path {
  const out: PathSegment[] = [];
  const re = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/g;
  for (const m of field.matchAll(re)) {
    if (m[1] !== undefined) out.push(Number(m[1]));
    else if (m[2] !== undefined) out.push(JSON.parse(m[2]) as string);
    else if (m[3] !== undefined) out.push(m[3]);
  }
  return out;
}
