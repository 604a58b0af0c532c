import type { OpCode } from './header.js';

export interface RequestOptions {
  /** What the request does, for error messages ("fs upload of /lfs/a.wasm at 1024"). */
  what?: string;
  /** Per attempt, from the moment the request has left; default: the client's. */
  timeoutMs?: number;
  /** Attempts after the first one on no answer; default: the client's for safe requests, 0 otherwise. */
  retries?: number;
  /**
   * The request may be sent again when no answer came (reads, uploads at an offset, state changes
   * that are no-ops when repeated). Not for shell commands or resets. Default false.
   */
  retryable?: boolean;
  signal?: AbortSignal;
  /** Return the answer map as it is, error fields included (for answers with their own rc rules). */
  raw?: boolean;
}

/** A raw answer: the decoded CBOR map; errors are thrown, not returned, unless `raw` is used. */
export type SmpAnswer = Record<string, unknown>;

/** What group commands need from a client: one request, one answer. */
export interface SmpRequester {
  request(
    op: OpCode,
    group: number,
    command: number,
    body: object,
    options?: RequestOptions,
  ): Promise<SmpAnswer>;
}
