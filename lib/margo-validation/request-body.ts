import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { OutpostError, type FieldProblem } from '../errors/index.js';
import { RC3_SCHEMAS } from './openapi-rc3.js';
import { formatPath, summarize, type PathSegment } from '../model/index.js';

/**
 * Shared plumbing of the MMI request-body parsers (capabilities, status): validation against the rc.3
 * OpenAPI component schemas with Ajv (JSON Schema 2020-12, compiled once on first use), and errors
 * that separate a malformed body (400 `margo/invalid-request`) from a semantic error (422
 * `margo/semantic-error`) so the MMI server can answer with the matching problem type (ADR 0103).
 */

export type ProblemKind = 'malformed' | 'semantic';

export interface BodyProblem extends FieldProblem {
  kind: ProblemKind;
}

export const INVALID_REQUEST = 'margo/invalid-request';
export const SEMANTIC_ERROR = 'margo/semantic-error';

type SchemaName = keyof typeof RC3_SCHEMAS;
let compiled: Map<SchemaName, ValidateFunction> | undefined;

function validator(name: SchemaName): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: 'margo-rc3', components: { schemas: RC3_SCHEMAS } });
    compiled = new Map();
    for (const n of ['DeviceCapabilitiesManifest', 'DeploymentStatusManifest'] as const) {
      compiled.set(n, ajv.compile({ $ref: `margo-rc3#/components/schemas/${n}` }));
    }
  }
  return compiled.get(name)!;
}

function fieldOf(instancePath: string, extra?: string): string {
  const segs: PathSegment[] = instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (extra !== undefined) segs.push(extra);
  return formatPath(segs);
}

function convert(e: ErrorObject): BodyProblem {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return {
        field: fieldOf(e.instancePath, String(p.missingProperty)),
        message: 'is required',
        kind: 'semantic',
      };
    case 'additionalProperties':
      return {
        field: fieldOf(e.instancePath, String(p.additionalProperty)),
        message: `unknown member "${String(p.additionalProperty)}"`,
        kind: 'malformed',
      };
    case 'type':
      return { field: fieldOf(e.instancePath), message: `must be ${String(p.type)}`, kind: 'malformed' };
    case 'oneOf':
      return {
        field: fieldOf(e.instancePath),
        message: 'must be a string, number, boolean, or a list of strings or of numbers',
        kind: 'malformed',
      };
    case 'enum':
      return {
        field: fieldOf(e.instancePath),
        message: `must be one of ${(p.allowedValues as unknown[]).join(', ')}`,
        kind: 'semantic',
      };
    case 'pattern':
      return { field: fieldOf(e.instancePath), message: `must match ${String(p.pattern)}`, kind: 'semantic' };
    case 'minItems':
      return {
        field: fieldOf(e.instancePath),
        message: `must have at least ${Number(p.limit)} item${p.limit === 1 ? '' : 's'}`,
        kind: 'semantic',
      };
    default:
      return { field: fieldOf(e.instancePath), message: e.message ?? e.keyword, kind: 'semantic' };
  }
}

/** Validates `value` against an rc.3 component schema; returns the problems found. */
export function schemaProblems(name: SchemaName, value: unknown): BodyProblem[] {
  const validate = validator(name);
  if (validate(value)) return [];
  const errs = (validate.errors ?? []).filter((e) => !e.schemaPath.includes('/oneOf/'));
  const seen = new Set<string>();
  const out: BodyProblem[] = [];
  for (const e of errs) {
    const p = convert(e);
    const key = `${p.field}\u0000${p.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** Throws 400 `margo/invalid-request` if any problem is malformed, else 422 `margo/semantic-error`. */
export function throwBodyProblems(subject: string, problems: readonly BodyProblem[]): never {
  const malformed = problems.some((p) => p.kind === 'malformed');
  const errors: FieldProblem[] = problems.map(({ field, message }) => ({ field, message }));
  const message = summarize(
    subject,
    errors.map((e) => ({ path: e.field, message: e.message, severity: 'error' as const })),
  );
  throw malformed
    ? new OutpostError(INVALID_REQUEST, message, { status: 400, errors })
    : new OutpostError(SEMANTIC_ERROR, message, { status: 422, errors });
}
