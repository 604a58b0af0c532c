import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadGit } from '../git/load.js';
import { OutpostError } from '../../lib/errors/index.js';
import { createGitHttpClient, redactUrl } from '../git/http-client.js';
import type { Config } from '../config.js';

/** A file tree read from one commit of a repository, without a working copy. */
export interface FetchedRepo {
  url: string;
  ref: string | null;
  commit: string;
  /** Reads a file at a repository path; undefined when absent. */
  read(filepath: string): Promise<Uint8Array | undefined>;
  dispose(): void;
}

const SHA = /^[0-9a-f]{40}$/;

/**
 * Fetches one commit of a git repository over HTTP(S): a branch or tag (shallow), a commit id (full
 * fetch), or the default branch. Credentials come from configuration (`catalog.credentials`, matched
 * by URL prefix; tokens from an environment variable) and are never logged or stored. Every request
 * is bounded by `catalog.gitTimeoutMs`.
 */
export async function fetchGitRepo(
  input: { url: string; ref?: string | undefined },
  config: Config['catalog'],
  env: NodeJS.ProcessEnv = process.env,
  /** Whether this caller may make the server fetch from loopback, link-local and private hosts (ADR 0483). */
  policy: { privateHosts: boolean } = { privateHosts: false },
): Promise<FetchedRepo> {
  let parsed: URL;
  try {
    parsed = new URL(input.url);
  } catch {
    throw new OutpostError(
      'invalid-input',
      `"${input.url}" is not a URL (use an http:// or https:// git URL, or a local path)`,
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new OutpostError(
      'invalid-input',
      `unsupported git URL scheme "${parsed.protocol}" in ${redactUrl(input.url)} (use http or https)`,
    );
  }
  const safeUrl = redactUrl(input.url);
  const cred = config.credentials.find(
    (c) => input.url.startsWith(c.urlPrefix) || safeUrl.startsWith(c.urlPrefix),
  );
  const inlineUser = decodeURIComponent(parsed.username);
  const inlinePass = decodeURIComponent(parsed.password);
  const token = cred?.tokenEnv ? env[cred.tokenEnv] : cred?.token;
  const onAuth = () =>
    inlinePass
      ? { username: inlineUser || 'git', password: inlinePass }
      : token
        ? { username: cred?.username ?? 'git', password: token }
        : { cancel: true };

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-git-'));
  const dispose = () => fs.rmSync(dir, { recursive: true, force: true });
  const http = createGitHttpClient({ timeoutMs: config.gitTimeoutMs, publicOnly: !policy.privateHosts });
  const ref = input.ref;
  const overall = AbortSignal.timeout(config.gitTimeoutMs * 3);
  try {
    let commit: string;
    const common = {
      fs,
      http,
      dir,
      url: safeUrl,
      onAuth,
      onAuthFailure: () => ({ cancel: true as const }),
      noCheckout: true,
      noTags: true,
    };
    if (ref && SHA.test(ref)) {
      await withAbort((await loadGit()).clone({ ...common, singleBranch: false }), overall, safeUrl);
      try {
        commit = (await (await loadGit()).readCommit({ fs, dir, oid: ref })).oid;
      } catch {
        throw new OutpostError('git-error', `commit ${ref} was not found in ${safeUrl}`);
      }
    } else {
      try {
        await withAbort(
          (await loadGit()).clone({ ...common, ref, singleBranch: true, depth: 1, noTags: !ref }),
          overall,
          safeUrl,
        );
      } catch (err) {
        if (
          ref &&
          err instanceof Error &&
          /Could not find|NotFoundError/i.test(`${err.name} ${err.message}`)
        ) {
          throw new OutpostError('git-error', `branch or tag "${ref}" was not found in ${safeUrl}`, {
            cause: err,
          });
        }
        throw err;
      }
      commit = await (
        await loadGit()
      ).resolveRef({ fs, dir, ref: ref ? await resolveLocal(dir, ref) : 'HEAD' });
    }
    return {
      url: safeUrl,
      ref: ref ?? null,
      commit,
      async read(filepath) {
        const clean = path.posix.normalize(filepath).replace(/^\/+/, '');
        if (clean.startsWith('..')) return undefined;
        try {
          return (await (await loadGit()).readBlob({ fs, dir, oid: commit, filepath: clean })).blob;
        } catch {
          return undefined;
        }
      },
      dispose,
    };
  } catch (err) {
    dispose();
    throw toGitError(err, safeUrl);
  }
}

async function resolveLocal(dir: string, ref: string): Promise<string> {
  for (const candidate of [ref, `refs/tags/${ref}`, `refs/remotes/origin/${ref}`, `refs/heads/${ref}`]) {
    try {
      await (await loadGit()).resolveRef({ fs, dir, ref: candidate });
      return candidate;
    } catch {
      /* try the next form */
    }
  }
  return 'HEAD';
}

async function withAbort<T>(p: Promise<T>, signal: AbortSignal, url: string): Promise<T> {
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new OutpostError('timeout', `fetching ${url} took too long`));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function toGitError(err: unknown, url: string): OutpostError {
  if (err instanceof OutpostError) return err;
  const e = err as {
    code?: string;
    name?: string;
    message?: string;
    data?: { statusCode?: number; statusMessage?: string };
  };
  const status = e.data?.statusCode;
  if (e.code === 'HttpError' || status) {
    if (status === 401 || status === 403) {
      return new OutpostError(
        'git-error',
        `access to ${url} was denied (HTTP ${status}); configure a token in catalog.credentials`,
        { cause: err },
      );
    }
    if (status === 404)
      return new OutpostError('git-error', `no git repository at ${url} (HTTP 404)`, { cause: err });
    return new OutpostError('git-error', `git server at ${url} answered HTTP ${status ?? '?'}`, {
      cause: err,
    });
  }
  if (e.code === 'UserCanceledError') {
    return new OutpostError(
      'git-error',
      `${url} needs credentials; configure a token in catalog.credentials`,
      { cause: err },
    );
  }
  if (e.code === 'SmartHttpError' || e.code === 'ParseError') {
    return new OutpostError(
      'git-error',
      `${url} does not look like a git repository (${e.message ?? 'unexpected answer'})`,
      { cause: err },
    );
  }
  return new OutpostError('git-error', `cannot fetch ${url}: ${e.message ?? String(err)}`, { cause: err });
}
