import { STATUS_CODES } from 'node:http';
import { OutpostError, type FieldProblem } from '../../lib/errors/index.js';
import {
  MARGO_PROBLEM_BASE,
  MARGO_PROBLEM_TYPES,
  OUTPOST_PROBLEM_BASE,
  OUTPOST_PROBLEM_TYPES,
  type MargoProblemName,
  type OutpostProblemName,
} from '../../lib/mmi/index.js';

/**
 * RFC 9457 problem details as the Margo Management Interface defines them (README section 1.6): the
 * registered types under `https://docs.margo.org/specification/problem-types#<name>`, `about:blank` for
 * everything else, and the Margo members `retryable`, `retryAfterSeconds`, `backoffStrategy` and `errors[]`.
 * `code` (our stable OutpostError code) is a vendor member, so `OutpostError.fromProblem` works on the agent.
 * Decisions: docs/adr/0241-mmi-errors-and-negotiation.md.
 */

/** OutpostError codes with one of our own problem types. */
const CODE_TO_OUTPOST: Record<string, OutpostProblemName> = {
  'mmi/not-a-node': 'not-a-node',
  'enroll/request-rejected': 'enroll-request-rejected',
  'enroll/request-expired': 'enroll-request-expired',
};

export interface MmiProblem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  retryable: boolean;
  backoffStrategy: 'none' | 'fixed' | 'exponential';
  retryAfterSeconds?: number;
  errors?: { field: string; message: string }[];
  /** Our stable error code (vendor extension member). */
  code: string;
}

/** A problem plus the response headers it needs (Retry-After, Allow) and whether to close the connection. */
export interface ProblemResponse {
  problem: MmiProblem;
  headers: Record<string, string>;
  closeConnection: boolean;
}

/** Default Retry-After for 429/503 when the thrower gave none, and for 500 (where it is recommended). */
export const DEFAULT_RETRY_AFTER_SECONDS = { 429: 30, 500: 30, 503: 10 } as const;

const RETRYABLE = new Set([429, 500, 503]);

export interface ProblemInput {
  status: number;
  /** A registered Margo name, or undefined for `about:blank`. */
  name?: MargoProblemName | undefined;
  /** One of our own types (instead of `name`). */
  outpost?: OutpostProblemName | undefined;
  detail: string;
  code: string;
  instance?: string | undefined;
  errors?: readonly FieldProblem[] | undefined;
  retryAfterSeconds?: number | undefined;
  headers?: Record<string, string>;
  closeConnection?: boolean;
}

/** Builds a problem response; 429, 500 and 503 are retryable with exponential backoff and a Retry-After. */
export function problem(input: ProblemInput): ProblemResponse {
  const registered =
    input.name !== undefined
      ? MARGO_PROBLEM_TYPES[input.name]
      : input.outpost !== undefined
        ? OUTPOST_PROBLEM_TYPES[input.outpost]
        : undefined;
  const status = registered ? registered[0] : input.status;
  const retryable = RETRYABLE.has(status);
  const headers: Record<string, string> = { ...(input.headers ?? {}) };
  const body: MmiProblem = {
    type:
      input.name !== undefined
        ? MARGO_PROBLEM_BASE + input.name
        : input.outpost !== undefined
          ? OUTPOST_PROBLEM_BASE + input.outpost
          : 'about:blank',
    title: registered ? registered[1] : (STATUS_CODES[status] ?? 'Error'),
    status,
    detail: input.detail,
    ...(input.instance === undefined ? {} : { instance: input.instance }),
    retryable,
    backoffStrategy: retryable ? 'exponential' : 'none',
    code: input.code,
  };
  if (retryable) {
    const after =
      input.retryAfterSeconds !== undefined &&
      Number.isInteger(input.retryAfterSeconds) &&
      input.retryAfterSeconds >= 0
        ? input.retryAfterSeconds
        : DEFAULT_RETRY_AFTER_SECONDS[status as 429 | 500 | 503];
    body.retryAfterSeconds = after;
    headers['retry-after'] = String(after);
  }
  if (input.errors !== undefined || status === 422) {
    body.errors = (input.errors ?? []).map((e) => ({ field: e.field, message: e.message }));
  }
  return { problem: body, headers, closeConnection: input.closeConnection ?? false };
}

/** OutpostError codes thrown by the backend or lib/margo that map to a registered Margo type. */
const CODE_TO_NAME: Record<string, MargoProblemName> = {
  'margo/invalid-request': 'invalid-request',
  'margo/invalid-digest': 'invalid-request',
  'margo/semantic-error': 'semantic-error',
  'margo/not-authorized': 'not-authorized',
  'margo/gateway-not-found': 'gateway-not-found',
  'margo/device-not-found': 'device-not-found',
  'margo/invalid-bundle': 'invalid-bundle',
  'margo/deployment-not-found': 'deployment-not-found',
  'margo/server-cannot-generate-response': 'server-cannot-generate-response',
  // Only enrollment handles tokens: an unreadable token is refused like an unknown one.
  'identity/invalid-token': 'not-authorized',
};

function retryAfterOf(data: unknown): number | undefined {
  if (data !== null && typeof data === 'object' && 'retryAfterSeconds' in data) {
    const v = (data as { retryAfterSeconds: unknown }).retryAfterSeconds;
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.ceil(v);
  }
  return undefined;
}

/**
 * Maps anything thrown by a handler or the backend to a problem. Known codes keep their registered type;
 * other 4xx OutpostErrors keep their status (400 → invalid-request, 401/403 → not-authorized, 422 →
 * semantic-error, the rest `about:blank`) and their message; everything else is a 500 whose detail says
 * nothing about the internals (`internal: true` tells the caller to log the cause).
 */
export function problemFromError(err: unknown, instance: string): ProblemResponse & { internal: boolean } {
  if (err instanceof OutpostError) {
    const name = CODE_TO_NAME[err.code];
    const common = { instance, code: err.code, detail: err.message, errors: err.errors };
    if (name !== undefined) return { ...problem({ ...common, status: 0, name }), internal: false };
    const outpost = CODE_TO_OUTPOST[err.code];
    if (outpost !== undefined) return { ...problem({ ...common, status: 0, outpost }), internal: false };
    const s = err.status;
    if (s === 400)
      return { ...problem({ ...common, status: 400, name: 'invalid-request' }), internal: false };
    if (s === 401 || s === 403)
      return { ...problem({ ...common, status: 403, name: 'not-authorized' }), internal: false };
    if (s === 422) return { ...problem({ ...common, status: 422, name: 'semantic-error' }), internal: false };
    if (s === 429 || s === 503) {
      return {
        ...problem({ ...common, status: s, retryAfterSeconds: retryAfterOf(err.data) }),
        internal: false,
      };
    }
    if (s >= 400 && s < 500) return { ...problem({ ...common, status: s }), internal: false };
  }
  return {
    ...problem({
      status: 500,
      instance,
      code: 'internal',
      detail: 'the server failed to handle this request; it has been logged',
    }),
    internal: true,
  };
}
