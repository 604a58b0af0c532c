import fs from 'node:fs';
import path from 'node:path';
import type { Reference, RegistryClient } from '../../lib/oci/index.js';
import { pullSources, registryHostOf, type MirrorRule } from '../../lib/registry/index.js';
import { ensureDir, writeFileDurable } from './durable.js';
import type { AgentIdentity } from './identity.js';

/**
 * Pulling through the site registry (ADR 0422): the LO tells the node its registry at enrollment (or
 * `registries.siteRegistry` names one); the mirror rules (`registries.mirrors`, default: everything, with
 * the origin only for what the site registry lacks) say where each component is looked up first. The node
 * authenticates to the site registry with its SVID (the same key and certificate as at the MMI) and
 * verifies it with the site's trust anchors; other registries never see the node's certificate.
 */

/** One place to look for an artifact, in order. */
export interface PullSource {
  ref: Reference;
  registry: RegistryClient;
  /** The site registry (then `certDir` is what podman needs to pull an image from it). */
  site: boolean;
  certDir?: string;
  /** Plain HTTP to this source (a site registry given as http://, on loopback). */
  plainHttp?: boolean;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '[::]', '::']);

/**
 * The site registry URL the node uses: the configured one, else the enrollment's (a wildcard host, from an
 * LO listening on every address, is the host the node reaches the LO's MMI by). Undefined: none (`false` in
 * the configuration, or an LO without a site registry).
 */
export function effectiveSiteRegistry(
  configured: string | false | undefined,
  fromEnrollment: string | undefined,
  mmiUrl: string,
): string | undefined {
  if (configured === false) return undefined;
  const url = configured ?? fromEnrollment;
  if (!url) return undefined;
  try {
    const u = new URL(url);
    if (WILDCARD_HOSTS.has(u.hostname)) u.hostname = new URL(mmiUrl).hostname;
    return u.origin;
  } catch {
    return undefined;
  }
}

/**
 * Writes podman's `--cert-dir` for the site registry: the site CA (`ca.crt`), the node's SVID and key
 * (`client.cert`, `client.key`, 0600). Rewritten only when the identity changed (a renewal).
 */
export function writeCertDir(dir: string, identity: AgentIdentity): void {
  ensureDir(dir);
  const want: [string, string, number][] = [
    ['ca.crt', identity.anchorsPem.join(''), 0o644],
    ['client.cert', identity.certPem, 0o644],
    ['client.key', identity.keyPem, 0o600],
  ];
  for (const [name, content, mode] of want) {
    const file = path.join(dir, name);
    let current: string | undefined;
    try {
      current = fs.readFileSync(file, 'utf8');
    } catch {
      current = undefined;
    }
    if (current !== content) writeFileDurable(file, content, mode);
  }
}

export interface SiteRegistryPullDeps {
  /** The site registry URL (effectiveSiteRegistry), or undefined. */
  url: string | undefined;
  rules: readonly MirrorRule[];
  /** The node's current identity (it changes when the SVID is renewed). */
  identity(): AgentIdentity;
  /** The client for every other registry (credentials from the auth file, no client certificate). */
  origin(): Promise<RegistryClient>;
  /** A client for the site registry presenting `identity`. */
  createSiteClient(url: string, identity: AgentIdentity): Promise<RegistryClient>;
  /** Where podman's certificates for the site registry go. */
  certDir: string;
}

export interface SiteRegistryPull {
  /** Where to look for a reference, in order (ADR 0422). */
  sources(ref: Reference): Promise<PullSource[]>;
  close(): Promise<void>;
}

export function createSiteRegistryPull(deps: SiteRegistryPullDeps): SiteRegistryPull {
  const host = deps.url ? registryHostOf(deps.url) : undefined;
  let site: { certPem: string; client: RegistryClient } | undefined;
  const retired: RegistryClient[] = [];

  const siteClient = async (): Promise<RegistryClient> => {
    const id = deps.identity();
    if (site?.certPem !== id.certPem) {
      // A renewed SVID: new connections present the new certificate.
      if (site) retired.push(site.client);
      site = { certPem: id.certPem, client: await deps.createSiteClient(deps.url!, id) };
      writeCertDir(deps.certDir, id);
    }
    return site.client;
  };

  return {
    async sources(ref) {
      const out: PullSource[] = [];
      for (const s of pullSources(ref, deps.rules, host)) {
        if (s.site)
          out.push({
            ref: s.ref,
            registry: await siteClient(),
            site: true,
            certDir: deps.certDir,
            plainHttp: deps.url!.startsWith('http:'),
          });
        else out.push({ ref: s.ref, registry: await deps.origin(), site: false });
      }
      return out;
    },
    async close() {
      for (const c of [...retired, ...(site ? [site.client] : [])]) await c.close().catch(() => undefined);
      retired.length = 0;
      site = undefined;
    },
  };
}
