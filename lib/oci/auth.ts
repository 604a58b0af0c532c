import type { Clock } from '../base/index.js';
import { ociError } from './errors.js';
import { discard, readLimited, type Transport } from './transport.js';

/** What a registry host needs: a user name and password (Basic, or exchanged for a token), or a ready token. */
export type Credentials = { username: string; password: string } | { token: string };
export type CredentialsProvider = (host: string) => Credentials | undefined;

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a `WWW-Authenticate` header (`Bearer realm="…",service="…",scope="…"`, `Basic realm="…"`).
 * Returns the challenges in order; parameter names are lower-cased.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = () => {
    while (i < s.length && /[\s,]/.test(s[i]!)) i++;
  };
  const token = () => {
    const m = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(s.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    skipWs();
    const scheme = token();
    if (!scheme) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      const save = i;
      while (i < s.length && /[\s,]/.test(s[i]!)) i++;
      const name = token();
      while (i < s.length && s[i] === ' ') i++;
      if (!name || s[i] !== '=') {
        i = save; // the next challenge's scheme
        break;
      }
      i++;
      while (i < s.length && s[i] === ' ') i++;
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i];
          i++;
        }
        i++;
      } else {
        const m = /^[^\s,]*/.exec(s.slice(i))!;
        value = m[0];
        i += value.length;
      }
      challenge.params[name.toLowerCase()] = value;
    }
  }
  return out;
}

export interface Authenticator {
  /** An Authorization header already known for (registry, scope), to send before any 401. */
  cached(registry: string, scope: string): string | undefined;
  /** Answers a 401 challenge: returns the Authorization header to retry with, or throws `oci/unauthorized`. */
  respond(registry: string, scope: string, wwwAuthenticate: string | null, what: string): Promise<string>;
}

interface TokenEntry {
  header: string;
  expiresAt: number;
}

/**
 * The Docker/OCI token flow and Basic auth. Bearer tokens are cached per registry and scope until shortly
 * before they expire; Basic credentials are sent pre-emptively once a registry has asked for them.
 * Credentials are only sent to the token realm the registry names when the transport allows that URL
 * (HTTPS, or plain HTTP under the same loopback rule as registries).
 */
export function createAuthenticator(deps: {
  transport: Transport;
  credentials?: CredentialsProvider;
  clock: Clock;
}): Authenticator {
  const tokens = new Map<string, TokenEntry>();
  const basic = new Map<string, string>();

  return {
    cached(registry, scope) {
      const b = basic.get(registry);
      if (b) return b;
      const t = tokens.get(`${registry}|${scope}`);
      if (t && t.expiresAt > deps.clock.now()) return t.header;
      return undefined;
    },

    async respond(registry, scope, wwwAuthenticate, what) {
      const creds = deps.credentials?.(registry);
      const challenges = wwwAuthenticate ? parseChallenges(wwwAuthenticate) : [];
      const bearer = challenges.find((c) => c.scheme === 'bearer');
      const basicChallenge = challenges.find((c) => c.scheme === 'basic');
      const noCreds = creds ? '' : ' (no credentials are configured for this registry)';

      if (bearer) {
        if (creds && 'token' in creds) {
          const header = `Bearer ${creds.token}`;
          tokens.set(`${registry}|${scope}`, { header, expiresAt: deps.clock.now() + 5 * 60_000 });
          return header;
        }
        const realm = bearer.params.realm;
        if (!realm)
          throw ociError('oci/unauthorized', `${what}: the registry's Bearer challenge names no realm`);
        const url = new URL(realm);
        if (bearer.params.service) url.searchParams.set('service', bearer.params.service);
        const scopes = new Set([scope, ...(bearer.params.scope ? bearer.params.scope.split(' ') : [])]);
        for (const s of scopes) if (s) url.searchParams.append('scope', s);
        deps.transport.checkUrl(url.toString(), what);
        const headers: Record<string, string> = { accept: 'application/json' };
        if (creds) headers.authorization = basicHeader(creds.username, creds.password);
        const res = await deps.transport.send({ method: 'GET', url: url.toString(), headers, what });
        if (res.status === 401 || res.status === 403) {
          await discard(res);
          throw ociError(
            'oci/unauthorized',
            `${what}: the token service ${url.origin}${url.pathname} refused ${creds ? 'the credentials' : 'anonymous access'} (HTTP ${res.status})${noCreds}`,
            { registry, status: res.status },
          );
        }
        if (!res.ok) {
          await discard(res);
          throw ociError(
            'oci/unauthorized',
            `${what}: the token service ${url.origin}${url.pathname} answered HTTP ${res.status}`,
            { registry, status: res.status },
          );
        }
        const body = await readLimited(res, 1 << 20, `${what}: token service`);
        let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
        try {
          parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
        } catch {
          throw ociError('oci/unauthorized', `${what}: the token service did not answer with JSON`);
        }
        const tok =
          typeof parsed.token === 'string'
            ? parsed.token
            : typeof parsed.access_token === 'string'
              ? parsed.access_token
              : undefined;
        if (!tok) throw ociError('oci/unauthorized', `${what}: the token service answered without a token`);
        const expiresIn =
          typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
        // Renew a little early so a token never expires between the check and the request.
        const lifetime = Math.max(1000, expiresIn * 1000 - Math.min(30_000, expiresIn * 100));
        const header = `Bearer ${tok}`;
        tokens.set(`${registry}|${scope}`, { header, expiresAt: deps.clock.now() + lifetime });
        return header;
      }

      if (basicChallenge) {
        if (!creds || !('username' in creds))
          throw ociError(
            'oci/unauthorized',
            `${what}: the registry requires a user name and password${noCreds}`,
            {
              registry,
            },
          );
        const header = basicHeader(creds.username, creds.password);
        basic.set(registry, header);
        return header;
      }
      throw ociError(
        'oci/unauthorized',
        `${what}: unauthorized, and the registry offers no supported authentication scheme${wwwAuthenticate ? ` (${wwwAuthenticate.split(' ')[0]})` : ''}`,
        { registry },
      );
    },
  };
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}
