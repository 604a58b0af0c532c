/**
 * The site registry's naming and the mirror rules (ADR 0422), shared by the LO (garbage collection roots,
 * the bundle import) and the edge agent (where it pulls from). Pure functions, no I/O.
 *
 * An artifact `oci://registry.example/samples/hello:1.0.0` is kept in the site registry as repository
 * `registry.example/samples/hello` (the origin's host, lowercased, is the first path component; a port
 * becomes `_port`: `127.0.0.1:5000/x` → `127.0.0.1_5000/x`), so artifacts of every origin live side by
 * side without clashes and a bundle import knows where each goes.
 */

/** What a reference needs here (core/oci's Reference has this shape). */
export interface RefParts {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** A mirror rule: references under `prefix` are looked up at `mirror` first. */
export interface MirrorRule {
  /** `*` (every reference), a registry host (`registry.example`, `host:5000`), or host and repository path prefix (`registry.example/samples`). */
  prefix: string;
  /** `site` (the site registry, repositories named as above), or another registry `host[:port][/path]` whose path replaces the prefix. */
  mirror: string;
  /** Also try the origin when the mirror does not have the artifact or cannot be reached (never after a refusal). */
  fallback: boolean;
}

/** Everything through the site registry, the origin only for what the site registry lacks. */
export const DEFAULT_MIRROR_RULES: readonly MirrorRule[] = [{ prefix: '*', mirror: 'site', fallback: true }];

const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;

/**
 * The site registry repository of a reference: `<host>/<repository>` (host lowercased, `:` → `_`).
 * Undefined when the host cannot be a repository path component (an IPv6 address).
 */
export function siteRepository(ref: Pick<RefParts, 'registry' | 'repository'>): string | undefined {
  const host = ref.registry.toLowerCase().replace(/:(\d+)$/, '_$1');
  if (!COMPONENT.test(host)) return undefined;
  const name = `${host}/${ref.repository}`;
  return name.length <= 255 ? name : undefined;
}

/** Checks a rule's shape; returns a problem or undefined. */
export function mirrorRuleProblem(rule: MirrorRule): string | undefined {
  if (rule.prefix !== '*' && !/^[A-Za-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._/-]+)?$/.test(rule.prefix))
    return `prefix "${rule.prefix}" must be "*", a registry host, or host/path`;
  if (rule.mirror !== 'site' && !/^[A-Za-z0-9.-]+(:\d{1,5})?(\/[a-z0-9._/-]+)?$/.test(rule.mirror))
    return `mirror "${rule.mirror}" must be "site" or a registry host[:port][/path]`;
  return undefined;
}

/** The rule that applies to a reference: the longest matching prefix (`*` last). */
export function matchMirrorRule(
  ref: Pick<RefParts, 'registry' | 'repository'>,
  rules: readonly MirrorRule[],
): MirrorRule | undefined {
  const full = `${ref.registry.toLowerCase()}/${ref.repository}`;
  let best: MirrorRule | undefined;
  for (const r of rules) {
    const p = r.prefix.toLowerCase().replace(/\/+$/, '');
    const hit = r.prefix === '*' || full === p || full.startsWith(`${p}/`);
    if (!hit) continue;
    const len = r.prefix === '*' ? 0 : p.length;
    const bestLen = best === undefined ? -1 : best.prefix === '*' ? 0 : best.prefix.length;
    if (len > bestLen) best = r;
  }
  return best;
}

export interface PullSource<R extends RefParts> {
  ref: R;
  /** This source is the site registry. */
  site: boolean;
  /** The artifact's own registry (no mirror). */
  origin: boolean;
}

/**
 * Where to look for a reference, in order. `siteRegistry` is the site registry's `host:port` (undefined
 * when the node knows none: then every reference goes to its origin). A reference that already names the
 * site registry (or the mirror) is used as it is.
 */
export function pullSources<R extends RefParts>(
  ref: R,
  rules: readonly MirrorRule[],
  siteRegistry: string | undefined,
): PullSource<R>[] {
  const origin: PullSource<R> = { ref, site: false, origin: true };
  const site = siteRegistry?.toLowerCase();
  if (site !== undefined && ref.registry.toLowerCase() === site) return [{ ref, site: true, origin: true }];
  const rule = matchMirrorRule(ref, rules);
  if (!rule) return [origin];
  let mirrored: R | undefined;
  if (rule.mirror === 'site') {
    const repository = siteRepository(ref);
    if (site === undefined || repository === undefined) return [origin];
    mirrored = { ...ref, registry: siteRegistry!, repository };
  } else {
    const [host, ...path] = rule.mirror.split('/');
    const base = path.join('/');
    let rest: string;
    if (rule.prefix === '*') rest = siteRepository(ref) ?? '';
    else {
      const p = rule.prefix.toLowerCase().replace(/\/+$/, '');
      const full = `${ref.registry.toLowerCase()}/${ref.repository}`;
      // The prefix's host is replaced by the mirror's; its path by the mirror's path.
      rest = full.slice(p.length).replace(/^\//, '');
    }
    const repository = [base, rest].filter(Boolean).join('/');
    if (!repository || host!.toLowerCase() === ref.registry.toLowerCase()) return [origin];
    mirrored = { ...ref, registry: host!, repository };
  }
  return [{ ref: mirrored, site: rule.mirror === 'site', origin: false }, ...(rule.fallback ? [origin] : [])];
}

/** `host:port` of a registry URL (`https://lo.example:7500` → `lo.example:7500`), or undefined. */
export function registryHostOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
    return u.host;
  } catch {
    return undefined;
  }
}
