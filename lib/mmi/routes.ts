/**
 * The MMI route table (rc.3: no clientId in paths). `matchRoute` turns a request path into a route and its
 * decoded parameters; methods are checked by the server so it can answer 405 with `Allow`.
 */

export type RouteName =
  | 'well-known'
  | 'trust-bundle'
  | 'enroll'
  | 'enroll-request'
  | 'enroll-request-state'
  | 'renew'
  | 'capabilities'
  | 'manifest'
  | 'deployment-yaml'
  | 'status'
  | 'bundle';

export interface RouteMatch {
  route: RouteName;
  /** Public routes need no client certificate (discovery, trust bundle, enrollment). */
  public: boolean;
  allow: readonly string[];
  params: string[];
}

export const WELL_KNOWN_MARGO = '/.well-known/margo';
export const TRUST_BUNDLE_PATH = '/.well-known/spiffe/bundle.json';
export const ENROLL_PATH = '/api/v1/outpost/enroll';
/** Enrollment by approval (ADR 0462): POST files a request; GET `<path>/<id>` with the poll secret answers its state. */
export const ENROLL_REQUESTS_PATH = '/api/v1/outpost/enroll-requests';
/** SVID renewal (our extension, like enrollment; ADR 0380): mutual TLS with the current SVID. */
export const RENEW_PATH = '/api/v1/outpost/renew';

const GET = ['GET', 'HEAD'] as const;

/** `''` or `/a/b` (unreserved characters, no trailing slash). */
export const BASE_PATH = /^(\/[A-Za-z0-9._~-]+)*$/;

function decode(segments: string[]): string[] | undefined {
  try {
    return segments.map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/**
 * Matches `pathname` (still percent-encoded, without the query). The well-known documents are served at the
 * origin's root (RFC 8615) and, for deployments behind a prefix, under `basePath` too.
 */
export function matchRoute(pathname: string, basePath: string): RouteMatch | undefined {
  let rest = pathname;
  if (rest === WELL_KNOWN_MARGO || rest === basePath + WELL_KNOWN_MARGO) {
    return { route: 'well-known', public: true, allow: GET, params: [] };
  }
  if (rest === TRUST_BUNDLE_PATH || rest === basePath + TRUST_BUNDLE_PATH) {
    return { route: 'trust-bundle', public: true, allow: GET, params: [] };
  }
  if (basePath !== '') {
    if (!rest.startsWith(basePath + '/')) return undefined;
    rest = rest.slice(basePath.length);
  }
  const raw = rest.split('/').slice(1);
  if (raw[0] !== 'api' || raw[1] !== 'v1' || raw.some((s) => s === '')) return undefined;
  const seg = decode(raw.slice(2));
  if (seg === undefined) return undefined;
  const [head, ...tail] = seg;
  if (head === 'outpost' && tail.length === 1 && tail[0] === 'enroll') {
    return { route: 'enroll', public: true, allow: ['POST'], params: [] };
  }
  if (head === 'outpost' && tail[0] === 'enroll-requests') {
    if (tail.length === 1) return { route: 'enroll-request', public: true, allow: ['POST'], params: [] };
    if (tail.length === 2)
      return { route: 'enroll-request-state', public: true, allow: GET, params: [tail[1]!] };
  }
  if (head === 'outpost' && tail.length === 1 && tail[0] === 'renew') {
    return { route: 'renew', public: false, allow: ['POST'], params: [] };
  }
  if (head === 'capabilities' && tail.length >= 1) {
    return { route: 'capabilities', public: false, allow: ['PUT', 'DELETE'], params: [tail.join('/')] };
  }
  if (head === 'deployments') {
    if (tail.length === 0) return { route: 'manifest', public: false, allow: GET, params: [] };
    if (tail.length === 2 && tail[1] === 'status') {
      return { route: 'status', public: false, allow: ['POST'], params: [tail[0]!] };
    }
    if (tail.length === 2) {
      return { route: 'deployment-yaml', public: false, allow: GET, params: [tail[0]!, tail[1]!] };
    }
  }
  if (head === 'bundles' && tail.length === 1) {
    return { route: 'bundle', public: false, allow: GET, params: [tail[0]!] };
  }
  return undefined;
}
