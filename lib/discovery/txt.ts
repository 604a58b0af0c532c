import { OutpostError } from '../errors/index.js';

/**
 * The TXT records of our two DNS-SD service types (docs/discovery.md). Pure: no sockets, no `node:*`.
 *
 * - `_outpost._tcp` (an LO): `txtvers=1`, `site=<site id>`, `mmi=<MMI base URL>`, `ca=<site CA fingerprint>`,
 *   `td=<SPIFFE trust domain>`, `v=<version>`.
 * - `_outpost-agent._tcp` (an edge agent): `txtvers=1`, `v=<version>`, `fp=<fingerprint of the node key>`,
 *   and once enrolled `node=<node id>` and `site=<site id>`.
 *
 * Advertisements are hints: nothing read here is trusted for anything but choosing where to connect; the
 * connection itself is authenticated (the CA fingerprint pins the LO, ADR 0142 and 0460).
 */

export const TXT_VERSION = '1';
/** DNS-SD service names (RFC 6335: at most 15 characters). */
export const LO_SERVICE = 'outpost';
export const AGENT_SERVICE = 'outpost-agent';

export const FINGERPRINT = /^sha256:[0-9a-f]{64}$/;
const SITE = /^[a-z0-9-]{1,63}$/;
const NODE = /^[A-Za-z0-9._-]{1,200}$/;
const VERSION = /^[0-9A-Za-z.+-]{1,64}$/;
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

export interface LoAdvertisement {
  siteId: string;
  /** Base URL of the Margo Management Interface (https). */
  mmiUrl: string;
  /** `sha256:<hex>` of the site CA's public key (the pin of ADR 0142). */
  caFingerprint: string;
  trustDomain: string;
  version: string;
}

export interface AgentAdvertisement {
  version: string;
  /** `sha256:<hex>` of the node's public key (SPKI). */
  keyFingerprint: string;
  /** The node id (`<tenant>.<name>`) once enrolled. */
  nodeId?: string | undefined;
  siteId?: string | undefined;
}

export type Txt = Record<string, string>;

function invalid(what: string): OutpostError {
  return new OutpostError('invalid-input', `discovery TXT record: ${what}`);
}

export function loTxt(a: LoAdvertisement): Txt {
  if (!SITE.test(a.siteId)) throw invalid(`site "${a.siteId}" is not a site id`);
  if (!FINGERPRINT.test(a.caFingerprint)) throw invalid('ca must be sha256:<64 hex>');
  if (!isHttpsUrl(a.mmiUrl)) throw invalid(`mmi "${a.mmiUrl}" is not an https URL`);
  if (!TRUST_DOMAIN.test(a.trustDomain)) throw invalid(`td "${a.trustDomain}" is not a trust domain`);
  return {
    txtvers: TXT_VERSION,
    site: a.siteId,
    mmi: a.mmiUrl,
    ca: a.caFingerprint,
    td: a.trustDomain,
    v: VERSION.test(a.version) ? a.version : 'unknown',
  };
}

export function agentTxt(a: AgentAdvertisement): Txt {
  if (!FINGERPRINT.test(a.keyFingerprint)) throw invalid('fp must be sha256:<64 hex>');
  return {
    txtvers: TXT_VERSION,
    v: VERSION.test(a.version) ? a.version : 'unknown',
    fp: a.keyFingerprint,
    ...(a.nodeId && NODE.test(a.nodeId) ? { node: a.nodeId } : {}),
    ...(a.siteId && SITE.test(a.siteId) ? { site: a.siteId } : {}),
  };
}

/** Reads an LO's TXT record; undefined when it is not one we understand (other version, missing or bad keys). */
export function parseLoTxt(txt: Readonly<Record<string, unknown>> | undefined): LoAdvertisement | undefined {
  const t = strings(txt);
  if (t.txtvers !== TXT_VERSION) return undefined;
  if (!t.site || !SITE.test(t.site)) return undefined;
  if (!t.ca || !FINGERPRINT.test(t.ca)) return undefined;
  if (!t.mmi || !isHttpsUrl(t.mmi)) return undefined;
  if (!t.td || !TRUST_DOMAIN.test(t.td)) return undefined;
  return { siteId: t.site, mmiUrl: t.mmi, caFingerprint: t.ca, trustDomain: t.td, version: t.v ?? 'unknown' };
}

export function parseAgentTxt(
  txt: Readonly<Record<string, unknown>> | undefined,
): AgentAdvertisement | undefined {
  const t = strings(txt);
  if (t.txtvers !== TXT_VERSION) return undefined;
  if (!t.fp || !FINGERPRINT.test(t.fp)) return undefined;
  return {
    version: t.v ?? 'unknown',
    keyFingerprint: t.fp,
    ...(t.node && NODE.test(t.node) ? { nodeId: t.node } : {}),
    ...(t.site && SITE.test(t.site) ? { siteId: t.site } : {}),
  };
}

function strings(txt: Readonly<Record<string, unknown>> | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(txt ?? {})) {
    if (typeof v === 'string') out[k.toLowerCase()] = v;
    else if (v instanceof Uint8Array) out[k.toLowerCase()] = new TextDecoder().decode(v);
  }
  return out;
}

function isHttpsUrl(s: string): boolean {
  try {
    return new URL(s).protocol === 'https:' && s.length <= 200;
  } catch {
    return false;
  }
}

/**
 * A short form of a fingerprint for people to compare (`AB12-CD34-EF56-7890`): the first 64 bits of the
 * hash in four groups. Long enough that a look-alike key is out of reach of an attacker on the LAN.
 */
export function shortFingerprint(fingerprint: string): string {
  const hex = fingerprint
    .replace(/^sha256:/, '')
    .slice(0, 16)
    .toUpperCase();
  return hex.match(/.{1,4}/g)?.join('-') ?? hex;
}
