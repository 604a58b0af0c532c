import { ociError } from './errors.js';
import { parseDigest } from './digest.js';

/** A parsed OCI reference: `host[:port]/repository[:tag][@digest]`. */
export interface Reference {
  /** `host` or `host:port` (IPv6 in brackets), exactly as written. */
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Distribution spec: path components of lowercase alphanumerics joined by `.`, `_`, `__` or dashes. */
const REPOSITORY = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const HOST_LABEL = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

const FORM = 'host[:port]/repository[:tag][@digest]';

/** Whether `name` is a repository name of the Distribution spec (`samples/hello`, `registry.example/x/y`). */
export function isRepositoryName(name: string): boolean {
  return name.length <= 255 && REPOSITORY.test(name);
}

/** Whether `tag` is a valid tag (letters, digits, `_`, `.`, `-`; at most 128; not starting with `.` or `-`). */
export function isTag(tag: string): boolean {
  return TAG.test(tag);
}

/**
 * Parses `oci://host:port/repo/name:tag@sha256:…` (the `oci://` prefix is optional). The first path
 * segment is always the registry host: Docker Hub short names (`alpine`, `library/alpine`) are not
 * supported. Throws `oci/invalid-reference` naming the input and what is wrong.
 */
export function parseReference(input: string): Reference {
  const fail = (why: string) =>
    ociError('oci/invalid-reference', `invalid OCI reference "${input}": ${why}`, { reference: input });
  if (typeof input !== 'string' || input.trim() === '') throw fail(`it is empty (expected ${FORM})`);
  if (input !== input.trim() || /\s/.test(input)) throw fail('it contains white space');
  let rest = input;
  const scheme = SCHEME.exec(rest);
  if (scheme) {
    if (scheme[1]!.toLowerCase() !== 'oci')
      throw fail(`only the oci:// scheme is accepted, not ${scheme[1]}://`);
    rest = rest.slice(scheme[0].length);
  }
  const slash = rest.indexOf('/');
  if (slash <= 0) throw fail(`it needs a registry host and a repository (${FORM})`);
  const registry = rest.slice(0, slash);
  const hostProblem = checkHost(registry);
  if (hostProblem) throw fail(hostProblem);
  let remainder = rest.slice(slash + 1);

  let digest: string | undefined;
  const at = remainder.indexOf('@');
  if (at >= 0) {
    digest = remainder.slice(at + 1);
    remainder = remainder.slice(0, at);
    try {
      parseDigest(digest);
    } catch (err) {
      throw fail((err as Error).message.replace(/^digest: /, ''));
    }
  }
  let tag: string | undefined;
  const colon = remainder.lastIndexOf(':');
  if (colon >= 0) {
    tag = remainder.slice(colon + 1);
    remainder = remainder.slice(0, colon);
    if (!TAG.test(tag))
      throw fail(
        `tag "${tag}" is not valid (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-")`,
      );
  }
  const repository = remainder;
  if (repository === '') throw fail(`the repository is missing (${FORM})`);
  if (!REPOSITORY.test(repository))
    throw fail(
      `repository "${repository}" is not valid (lowercase letters and digits, separated by ".", "_", "__", "-" or "/")`,
    );
  if (registry.length + 1 + repository.length > 255) throw fail('the name is longer than 255 characters');
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

function checkHost(host: string): string | undefined {
  let name = host;
  let port: string | undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return `registry host "${host}" has an unclosed "["`;
    name = host.slice(1, end);
    const after = host.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return `registry host "${host}" is not valid`;
      port = after.slice(1);
    }
    if (!/^[0-9a-fA-F:.]+$/.test(name)) return `registry host "${host}" is not a valid IPv6 address`;
  } else {
    const c = host.indexOf(':');
    if (c >= 0) {
      name = host.slice(0, c);
      port = host.slice(c + 1);
    }
    if (name === '' || !name.split('.').every((l) => HOST_LABEL.test(l)))
      return `registry host "${host}" is not a valid host name`;
    if (port === undefined && !name.includes('.') && name !== 'localhost')
      return `"${host}" is not a registry host (a host has a dot or a port, or is localhost; Docker Hub short names are not supported)`;
  }
  if (port !== undefined) {
    const n = Number(port);
    if (!/^[0-9]{1,5}$/.test(port) || n < 1 || n > 65535)
      return `registry port "${port}" is not a valid port`;
  }
  return undefined;
}

/** `host/repo:tag@digest` (no scheme), the form used in messages. */
export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** What to ask the registry for: the digest if pinned, else the tag, else `latest`. */
export function referenceTarget(ref: Reference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The host name without port or brackets, e.g. for loopback checks. */
export function hostName(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const c = registry.indexOf(':');
  return c >= 0 ? registry.slice(0, c) : registry;
}

/** True for 127.0.0.0/8, ::1 and localhost. */
export function isLoopbackHost(registry: string): boolean {
  const h = hostName(registry).toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}
