/** Validation and compilation of a placement request (once per request, before the node loop). */
import { OutpostError, type FieldProblem } from '../../lib/errors/index.js';
import {
  OUTPOST_EXTENSION_KEY,
  type DeploymentType,
  type PlacementRequest,
  type Reservation,
} from '../../lib/model/index.js';
import { compileConstraints, reservationOf, type CompiledConstraints } from './constraints.js';
import { DEPLOYMENT_TYPE_BITS, OUTPOST_RUNTIMES, RUNTIME_CUSTOM, RUNTIME_OCI } from './nodes.js';

export interface CompiledRequest {
  readonly request: PlacementRequest;
  readonly constraints: CompiledConstraints;
  readonly profileType: DeploymentType;
  readonly typeBit: number;
  /** RUNTIME_OCI or RUNTIME_CUSTOM. */
  readonly runtimeBit: number;
  /** `x-outpost-extensions.runtime` of a custom profile (wasm, ocre, ...), or null. */
  readonly outpostRuntime: string | null;
  /** Bit over OUTPOST_RUNTIMES, 0 when outpostRuntime is null or not one we know. */
  readonly outpostRuntimeBit: number;
  readonly replicas: number | 'all';
  readonly selector: readonly (readonly [string, string])[];
  readonly prefer: readonly (readonly [string, string])[];
  readonly reservation: Reservation;
}

/**
 * The operator label that marks a node as preferred (ADR 0360): when a request names no preference
 * labels of its own, nodes an operator labelled `outpost.dev/preferred=true` score higher.
 */
export const PREFERRED_LABEL = 'outpost.dev/preferred';
const DEFAULT_PREFER: readonly (readonly [string, string])[] = [[PREFERRED_LABEL, 'true']];

function stringPairs(value: unknown, field: string, problems: FieldProblem[]): (readonly [string, string])[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push({ field, message: 'must be an object of key=value strings' });
    return [];
  }
  const out: (readonly [string, string])[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') problems.push({ field: `${field}.${k}`, message: 'must be a string' });
    else out.push([k, v]);
  }
  return out;
}

export function compileRequest(request: PlacementRequest, field = 'request'): CompiledRequest {
  const problems: FieldProblem[] = [];
  if (!request || typeof request !== 'object')
    throw new OutpostError('invalid-input', `${field}: must be an object`);
  const { profile, replicas, now, staleAfterMs } = request;
  if (replicas !== 'all' && !(Number.isInteger(replicas) && replicas >= 1))
    problems.push({ field: `${field}.replicas`, message: 'must be a whole number >= 1 or "all"' });
  if (typeof now !== 'number' || !Number.isFinite(now))
    problems.push({ field: `${field}.now`, message: 'must be a time in epoch milliseconds' });
  if (typeof staleAfterMs !== 'number' || !(staleAfterMs > 0))
    problems.push({ field: `${field}.staleAfterMs`, message: 'must be a number of milliseconds > 0' });
  if (request.siteId !== undefined && typeof request.siteId !== 'string')
    problems.push({ field: `${field}.siteId`, message: 'must be a string' });
  if (
    request.nodeUids !== undefined &&
    (!Array.isArray(request.nodeUids) || request.nodeUids.some((u) => typeof u !== 'string'))
  )
    problems.push({ field: `${field}.nodeUids`, message: 'must be an array of node uids' });
  const selector = stringPairs(request.selector, `${field}.selector`, problems);
  const prefer =
    request.preferLabels === undefined
      ? DEFAULT_PREFER
      : stringPairs(request.preferLabels, `${field}.preferLabels`, problems);

  const type = profile?.type;
  const typeBit = typeof type === 'string' ? (DEPLOYMENT_TYPE_BITS[type] ?? 0) : 0;
  if (!profile || typeof profile !== 'object')
    problems.push({ field: `${field}.profile`, message: 'must be a deployment profile' });
  else if (!typeBit)
    problems.push({
      field: `${field}.profile.type`,
      message: `unknown deployment type ${JSON.stringify(type)}`,
    });

  let outpostRuntime: string | null = null;
  if (type === 'custom') {
    const ext = profile.extensions?.[OUTPOST_EXTENSION_KEY] as { runtime?: unknown } | undefined;
    if (ext && ext.runtime !== undefined) {
      if (typeof ext.runtime !== 'string' || ext.runtime === '')
        problems.push({
          field: `${field}.profile.extensions.${OUTPOST_EXTENSION_KEY}.runtime`,
          message: 'must be a runtime name such as wasm or ocre',
        });
      else outpostRuntime = ext.runtime;
    }
  }

  let constraints: CompiledConstraints | null = null;
  try {
    constraints = compileConstraints(profile?.deviceConstraints, `${field}.profile.deviceConstraints`);
  } catch (err) {
    if (err instanceof OutpostError && err.errors) problems.push(...err.errors);
    else throw err;
  }

  if (problems.length > 0 || constraints === null) {
    const code = problems.some((p) => p.field.includes('.deviceConstraints'))
      ? 'placement/invalid-constraints'
      : 'invalid-input';
    throw new OutpostError(
      code,
      `${problems[0]!.field}: ${problems[0]!.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
      { status: code === 'invalid-input' ? 400 : 422, errors: problems },
    );
  }
  return {
    request,
    constraints,
    profileType: type,
    typeBit,
    runtimeBit: type === 'custom' ? RUNTIME_CUSTOM : RUNTIME_OCI,
    outpostRuntime,
    outpostRuntimeBit: outpostRuntimeBit(outpostRuntime),
    replicas,
    selector,
    prefer,
    reservation: reservationOf(constraints.capacity),
  };
}

function outpostRuntimeBit(runtime: string | null): number {
  const i = runtime === null ? -1 : OUTPOST_RUNTIMES.indexOf(runtime as (typeof OUTPOST_RUNTIMES)[number]);
  return i < 0 ? 0 : 1 << i;
}
