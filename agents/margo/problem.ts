import { OutpostError } from '../../lib/errors/index.js';
import { MARGO_PROBLEM_BASE, MARGO_PROBLEM_TYPES, type MargoProblemName } from '../../lib/mmi/index.js';

/**
 * A non-2xx answer of the WFM as the agent acts on it: Margo says clients branch on the problem `type`,
 * never on the status code, and honour `Retry-After` (the Margo specification).
 */

/** A registered Margo problem name, or `about:blank` for anything else. */
export type MargoProblemType = MargoProblemName | 'about:blank';

export interface MmiProblem {
  status: number;
  /** The registered name (`not-authorized`), or `about:blank` for anything else. */
  type: MargoProblemType;
  /** The `type` member exactly as sent. */
  rawType?: string;
  title?: string;
  detail?: string;
  retryable: boolean;
  /** From `Retry-After` (seconds or an HTTP date) or the body's `retryAfterSeconds`, whichever is longer. */
  retryAfterSeconds?: number;
}

const KNOWN = new Set<string>(Object.keys(MARGO_PROBLEM_TYPES));

/** `Retry-After`: delta-seconds or an HTTP date; undefined when absent or malformed. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t);
  const at = Date.parse(t);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** Reads a problem from a response (problem+json or anything else). */
export function problemFrom(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  now: number,
): MmiProblem {
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  const rawType = typeof json?.type === 'string' ? json.type : undefined;
  const name = rawType?.startsWith(MARGO_PROBLEM_BASE) ? rawType.slice(MARGO_PROBLEM_BASE.length) : undefined;
  const type = (name && KNOWN.has(name) ? name : 'about:blank') as MargoProblemType;
  const header = parseRetryAfter(headers['retry-after'], now);
  const bodyRetry =
    typeof json?.retryAfterSeconds === 'number' && json.retryAfterSeconds >= 0
      ? json.retryAfterSeconds
      : undefined;
  const retryAfterSeconds =
    header === undefined && bodyRetry === undefined ? undefined : Math.max(header ?? 0, bodyRetry ?? 0);
  // Margo: 429 and 503 are retryable; 500 may be. A body that says otherwise wins.
  const retryable =
    typeof json?.retryable === 'boolean' ? json.retryable : status === 429 || status >= 500 || status === 408;
  return {
    status,
    type,
    ...(rawType ? { rawType } : {}),
    ...(typeof json?.title === 'string' ? { title: json.title } : {}),
    ...(typeof json?.detail === 'string' ? { detail: json.detail.slice(0, 500) } : {}),
    retryable,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  };
}

/** The error the MMI client throws for a non-2xx answer; `data` is the {@link MmiProblem}. */
export function problemError(what: string, p: MmiProblem): OutpostError {
  const why = p.detail ?? p.title ?? `HTTP ${p.status}`;
  return new OutpostError(
    'agent/mmi-problem',
    `${what}: ${p.status} ${p.type === 'about:blank' ? '' : `${p.type}: `}${why}`,
    {
      status: p.status,
      data: p,
    },
  );
}

export function isProblem(err: unknown): err is OutpostError & { data: MmiProblem } {
  return err instanceof OutpostError && err.code === 'agent/mmi-problem';
}
