import type { IncomingMessage } from 'node:http';
import { problem, type ProblemResponse } from './problems.js';
import { inputShapeProblem } from '../rpc/input-limits.js';

/** A problem a handler decided on; the server writes it as problem+json. */
export class HttpProblem extends Error {
  readonly response: ProblemResponse;

  constructor(response: ProblemResponse) {
    super(response.problem.detail);
    this.name = 'HttpProblem';
    this.response = response;
  }
}

function tooLarge(limit: number, instance: string): HttpProblem {
  return new HttpProblem(
    problem({
      status: 413,
      code: 'payload-too-large',
      detail: `request body is larger than ${limit} bytes`,
      instance,
    }),
  );
}

/**
 * Reads the whole body, refusing anything over `limit` bytes with 413. The rest of an oversized body is read
 * and discarded (bounded by the server's request timeout) so the client receives the answer instead of a
 * reset, and the connection stays usable.
 */
export function readBody(req: IncomingMessage, limit: number, instance: string): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit, instance));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.off('data', onData);
        req.resume(); // flowing without a data listener: the remaining bytes are discarded
        reject(tooLarge(limit, instance));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.once('error', (err) => {
      if (!done) reject(err);
    });
  });
}

/** `application/json` or `application/<x>+json`, with no charset or UTF-8. */
export function isJsonContentType(contentType: string): boolean {
  const [type = '', ...params] = contentType.split(';').map((s) => s.trim().toLowerCase());
  if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) return false;
  for (const p of params) {
    const [name, value = ''] = p.split('=').map((s) => s.trim());
    if (name === 'charset' && value.replace(/^"|"$/g, '') !== 'utf-8') return false;
  }
  return true;
}

/**
 * Reads a JSON request body. A missing Content-Type is tolerated; any other type than JSON, an empty body or
 * text that is not JSON is a malformed request (400 invalid-request: the rc.3 OpenAPI lists 400, not 415).
 */
export async function readJsonBody(req: IncomingMessage, limit: number, instance: string): Promise<unknown> {
  const ct = req.headers['content-type'];
  if (ct !== undefined && !isJsonContentType(ct)) {
    throw new HttpProblem(
      problem({
        status: 400,
        name: 'invalid-request',
        code: 'margo/invalid-request',
        detail: `Content-Type must be application/json, not ${JSON.stringify(ct.slice(0, 100))}`,
        instance,
      }),
    );
  }
  const body = await readBody(req, limit, instance);
  if (body.length === 0) {
    throw new HttpProblem(
      problem({
        status: 400,
        name: 'invalid-request',
        code: 'margo/invalid-request',
        detail: 'request body is empty; expected a JSON object',
        instance,
      }),
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8')) as unknown;
  } catch (err) {
    throw new HttpProblem(
      problem({
        status: 400,
        name: 'invalid-request',
        code: 'margo/invalid-request',
        detail: `request body is not valid JSON: ${(err as Error).message}`,
        instance,
      }),
    );
  }
  // Nothing walks a body nested too deep or too wide (validation, problem lists): refused here.
  const shape = inputShapeProblem(value);
  if (shape) {
    throw new HttpProblem(
      problem({
        status: 400,
        name: 'invalid-request',
        code: 'margo/invalid-request',
        detail: `request body ${shape.field === '(input)' ? '' : `at ${shape.field} `}${shape.message}`,
        instance,
      }),
    );
  }
  return value;
}
