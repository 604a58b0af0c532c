import fs from 'node:fs';
import { OutpostError } from '../../lib/errors/index.js';
import type { Credentials, CredentialsProvider } from '../../lib/oci/index.js';

/**
 * Registry credentials of the agent (ADR 0341): `registries.authFile` names a containers/Docker auth
 * file (`{"auths": {"host:port": {"auth": base64("user:password")}}}`, what `podman login --authfile`
 * and `docker login` write), so one file serves the agent's own pulls and podman's. Per host: `auth`, or
 * `username` + `password`, or a bearer `registrytoken`. Keys may carry a scheme or a path
 * (`https://reg.example.com/v2/`); the host is what counts. The file is read again when it changes, so
 * a `podman login` takes effect without restarting the agent. Secrets are never logged.
 */

type AuthEntry = { auth?: unknown; username?: unknown; password?: unknown; registrytoken?: unknown };

/** `host[:port]` of an auth file key (`https://host:port/v1/`, `host:port/namespace`, `host`). */
export function authFileHost(key: string): string {
  return key
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .split('/')[0]!
    .toLowerCase();
}

function entryCredentials(e: AuthEntry): Credentials | undefined {
  if (typeof e.registrytoken === 'string' && e.registrytoken !== '') return { token: e.registrytoken };
  if (typeof e.auth === 'string' && e.auth !== '') {
    const plain = Buffer.from(e.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    if (i > 0) return { username: plain.slice(0, i), password: plain.slice(i + 1) };
  }
  if (typeof e.username === 'string' && e.username !== '' && typeof e.password === 'string')
    return { username: e.username, password: e.password };
  return undefined;
}

/** The credentials per host in an auth file's text; throws `invalid-config` naming the file. */
export function parseAuthFile(text: string, file: string): Map<string, Credentials> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new OutpostError('invalid-config', `${file}: not JSON (${(e as Error).message})`);
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (!auths || typeof auths !== 'object' || Array.isArray(auths))
    throw new OutpostError('invalid-config', `${file}: expected {"auths": {"<host:port>": {...}}}`);
  const out = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    if (!entry || typeof entry !== 'object') continue;
    const creds = entryCredentials(entry as AuthEntry);
    const host = authFileHost(key);
    // The first entry of a host wins (a host-wide key is usually listed before repository-scoped ones).
    if (creds && host && !out.has(host)) out.set(host, creds);
  }
  return out;
}

/**
 * A credentials provider reading `file` (re-read when its size or modification time changes). A missing
 * file means anonymous access; an unreadable or malformed one is an `invalid-config` error on use.
 */
export function authFileCredentials(file: string): CredentialsProvider {
  let seen = '';
  let byHost = new Map<string, Credentials>();
  return (host) => {
    let stamp: string;
    try {
      const st = fs.statSync(file);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new OutpostError('invalid-config', `cannot read the registry auth file ${file}`, { cause: e });
    }
    if (stamp !== seen) {
      byHost = parseAuthFile(fs.readFileSync(file, 'utf8'), file);
      seen = stamp;
    }
    return byHost.get(host.toLowerCase());
  };
}
