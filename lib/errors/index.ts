/**
 * One error type for the whole project. Every error carries a stable `code` that the UI and the CLI
 * switch on (never on message text), optional structured `data`, and an optional `cause`.
 * Errors survive serialisation: `toProblem()` turns one into RFC 9457 problem+json and
 * `OutpostError.fromProblem()` rebuilds it on the far side of HTTP, IPC or NATS.
 */

/** Stable error codes and the HTTP status each maps to. Add new codes here, never inline. */
export const ERROR_STATUS = {
  'invalid-input': 400,
  'invalid-config': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'route-not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  'already-exists': 409,
  /** A retry with an Idempotency-Key whose call committed but whose answer could not be given again. */
  'idempotency-in-doubt': 409,
  /** The same Idempotency-Key with another operation, input or caller. */
  'idempotency-key-reused': 422,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  'not-placeable': 422,
  'validation-failed': 422,
  'precondition-failed': 412,
  'rate-limited': 429,
  internal: 500,
  /** The disk (or the database's file system) is full: nothing was changed; free space and retry. */
  'insufficient-storage': 507,
  'not-implemented': 501,
  unavailable: 503,
  timeout: 504,
  'server-not-running': 503,
  'server-already-running': 409,
  'network-error': 502,
  'git-error': 502,
  'nats-unavailable': 503,
  cancelled: 499,
} as const satisfies Record<string, number>;

export type KnownErrorCode = keyof typeof ERROR_STATUS;
/** Modules may use their own codes too (e.g. `margo/invalid-description`); they map to `status` given explicitly or 500. */
export type ErrorCode = KnownErrorCode | (string & {});

export const PROBLEM_TYPE_BASE = 'https://outpost.dev/problems/';

/** Bounds of one problem+json answer: however many problems an input has, the answer stays small. */
export const MAX_PROBLEM_ERRORS = 100;
export const MAX_DETAIL_CHARS = 4000;

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
  data?: unknown;
  /** Field-level problems (validation); mirrors Margo's `errors[]` extension member. */
  errors?: FieldProblem[];
  [extension: string]: unknown;
}

export interface FieldProblem {
  /** Dotted / JSON-pointer-ish path of the offending field, e.g. `deploymentProfiles[0].components[1].name`. */
  field: string;
  message: string;
  /** Source location when known (file name, 1-based line and column). */
  file?: string;
  line?: number;
  column?: number;
}

export interface OutpostErrorOptions {
  data?: unknown;
  cause?: unknown;
  status?: number;
  errors?: FieldProblem[];
}

export class OutpostError extends Error {
  readonly code: ErrorCode;
  readonly data: unknown;
  readonly status: number;
  readonly errors: FieldProblem[] | undefined;

  constructor(code: ErrorCode, message: string, options: OutpostErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OutpostError';
    this.code = code;
    this.data = options.data;
    this.errors = options.errors;
    this.status = options.status ?? statusForCode(code);
  }

  toJSON(): { code: string; message: string; data?: unknown; errors?: FieldProblem[] } {
    return {
      code: this.code,
      message: this.message,
      ...(this.data === undefined ? {} : { data: this.data }),
      ...(this.errors === undefined ? {} : { errors: this.errors }),
    };
  }

  /** The problem+json of this error, bounded: a long detail is cut, a long list of problems counted. */
  toProblem(instance?: string): ProblemDetails {
    const detail =
      this.message.length > MAX_DETAIL_CHARS
        ? `${this.message.slice(0, MAX_DETAIL_CHARS)}… (${this.message.length - MAX_DETAIL_CHARS} more characters)`
        : this.message;
    const errors =
      this.errors && this.errors.length > MAX_PROBLEM_ERRORS
        ? [
            ...this.errors.slice(0, MAX_PROBLEM_ERRORS),
            {
              field: '(more)',
              message: `and ${this.errors.length - MAX_PROBLEM_ERRORS} more problems, not listed`,
            },
          ]
        : this.errors;
    return {
      type: PROBLEM_TYPE_BASE + this.code,
      title: titleForCode(this.code),
      status: this.status,
      detail,
      code: this.code,
      ...(instance ? { instance: instance.slice(0, MAX_DETAIL_CHARS) } : {}),
      ...(this.data === undefined ? {} : { data: this.data }),
      ...(errors === undefined ? {} : { errors }),
    };
  }

  /** Rebuilds an error from a problem+json body (or anything shaped like one). */
  static fromProblem(problem: unknown, fallbackStatus = 500): OutpostError {
    if (problem && typeof problem === 'object') {
      const p = problem as Partial<ProblemDetails>;
      const code =
        typeof p.code === 'string'
          ? p.code
          : typeof p.type === 'string' && p.type.startsWith(PROBLEM_TYPE_BASE)
            ? p.type.slice(PROBLEM_TYPE_BASE.length)
            : 'internal';
      const message =
        typeof p.detail === 'string' ? p.detail : typeof p.title === 'string' ? p.title : 'unknown error';
      return new OutpostError(code, message, {
        status: typeof p.status === 'number' ? p.status : fallbackStatus,
        data: p.data,
        errors: Array.isArray(p.errors) ? (p.errors as FieldProblem[]) : undefined,
      });
    }
    return new OutpostError('internal', String(problem), { status: fallbackStatus });
  }

  /**
   * Wraps anything thrown into an OutpostError, keeping OutpostErrors as they are. A full disk
   * (ENOSPC, EDQUOT, SQLite's SQLITE_FULL), anywhere in the cause chain, becomes `insufficient-storage`.
   */
  static from(err: unknown, code: ErrorCode = 'internal'): OutpostError {
    if (err instanceof OutpostError) return err;
    const full = diskFullCause(err);
    if (full !== undefined) return diskFull(full, err);
    if (err instanceof Error) return new OutpostError(code, err.message, { cause: err });
    return new OutpostError(code, String(err));
  }
}

const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/** The error code that says the disk is full, searched through `cause` chains; undefined when none. */
export function diskFullCause(err: unknown): string | undefined {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && DISK_FULL_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function diskFull(code: string, cause: unknown): OutpostError {
  return new OutpostError(
    'insufficient-storage',
    `the disk is full (${code}): nothing was changed; free some space on the server and retry`,
    { cause },
  );
}

export function isOutpostError(err: unknown, code?: ErrorCode): err is OutpostError {
  return err instanceof OutpostError && (code === undefined || err.code === code);
}

export function statusForCode(code: string): number {
  return (ERROR_STATUS as Record<string, number>)[code] ?? 500;
}

function titleForCode(code: string): string {
  const s = code.replace(/^.*\//, '').replace(/-/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Shorthands for the common cases. */
export const errors = {
  invalidInput: (message: string, fieldErrors?: FieldProblem[], data?: unknown) =>
    new OutpostError('invalid-input', message, { errors: fieldErrors, data }),
  notFound: (what: string, id: string) =>
    new OutpostError('not-found', `${what} "${id}" was not found`, { data: { what, id } }),
  conflict: (message: string, data?: unknown) => new OutpostError('conflict', message, { data }),
  forbidden: (message: string) => new OutpostError('forbidden', message),
  unauthorized: (message = 'a valid API token is required') => new OutpostError('unauthorized', message),
};
