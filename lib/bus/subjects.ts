import { OutpostError } from '../errors/index.js';

/**
 * The NATS subject namespace (ADR 0160). One namespace per site:
 *
 *   outpost.site.<site>.node.<node>.notify     LO -> node   "poll now"
 *   outpost.site.<site>.node.<node>.status     node -> LO   deployment status (JetStream, acknowledged)
 *   outpost.site.<site>.node.<node>.events     node -> LO   events (JetStream, acknowledged)
 *   outpost.site.<site>.node.<node>.presence   node -> LO   heartbeats (core NATS, fire and forget)
 *   outpost.site.<site>.node.<node>.logs       LO -> node   request: a deployment's workload output (the node replies)
 *   outpost.site.<site>.lo.<kind>              LO -> CO     the LO's own reports (heartbeat, presence changes)
 *   outpost.desired.<site>                     CO -> LO     desired-state change notices
 *   outpost.link.<site>.ping                   CO -> LO     link probe over the leaf link (core NATS)
 *   outpost.site.<site>.link.pong              LO -> CO     its answer (core NATS, never stored)
 *   outpost.deliver.<site>.{up,down}.>         delivery subjects of the cross-domain stream sources
 *
 * `<node>` is the node token: the node uid (`<tenant>.<node-name>`, dots included) escaped so it is one
 * subject token. Letters, digits and `-` stay as they are; every other byte (of the UTF-8 encoding)
 * becomes `_` + two upper-case hex digits, so `acme.press-01` becomes `acme_2Epress-01`. The escape is
 * injective and reversible, and never yields a wildcard.
 */

export const ROOT = 'outpost';
/** The JetStream domain of the CO's server (role co or all). */
export const HUB_DOMAIN = 'co';
/** The single NATS account every Outpost user lives in (isolation is by per-user permissions). */
export const ACCOUNT = 'OUTPOST';
/** The CO's aggregate stream that sources every site's upward stream. */
export const AGGREGATE_UP_STREAM = 'OUTPOST_UP';
/** The LO-local stream that sources the site's desired-state notices from the hub. */
export const LOCAL_DOWN_STREAM = 'OUTPOST_DOWN';

export type NodeSubjectKind = 'notify' | 'status' | 'events' | 'presence' | 'logs';
export const NODE_UPWARD_KINDS = ['status', 'events', 'presence'] as const;

const SITE_RE = /^[a-z0-9-]{1,63}$/;
const TOKEN_SAFE = /^[A-Za-z0-9-]$/;

export function assertSiteId(siteId: string): string {
  if (typeof siteId !== 'string' || !SITE_RE.test(siteId)) {
    throw new OutpostError(
      'invalid-input',
      `site id "${String(siteId)}" is invalid: use 1-63 lower-case letters, digits or "-"`,
      { data: { siteId } },
    );
  }
  return siteId;
}

export function assertNodeUid(nodeUid: string): string {
  if (typeof nodeUid !== 'string' || nodeUid.length === 0 || nodeUid.length > 253 || /\s/.test(nodeUid)) {
    throw new OutpostError(
      'invalid-input',
      `node uid "${String(nodeUid)}" is invalid: expected 1-253 characters without spaces (e.g. "acme.press-01")`,
      { data: { nodeUid } },
    );
  }
  return nodeUid;
}

/** `acme.press-01` -> `acme_2Epress-01`: one subject token, reversible. */
export function nodeToken(nodeUid: string): string {
  assertNodeUid(nodeUid);
  let out = '';
  for (const ch of nodeUid) {
    if (TOKEN_SAFE.test(ch)) {
      out += ch;
      continue;
    }
    for (const b of Buffer.from(ch, 'utf8')) out += '_' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/** The inverse of `nodeToken`; throws on anything `nodeToken` cannot have produced. */
export function nodeUidFromToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const ch = token[i]!;
    if (ch === '_') {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex))
        throw new OutpostError('invalid-input', `"${token}" is not a node token`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (TOKEN_SAFE.test(ch)) {
      bytes.push(ch.charCodeAt(0));
    } else {
      throw new OutpostError('invalid-input', `"${token}" is not a node token`);
    }
  }
  const uid = Buffer.from(bytes).toString('utf8');
  if (nodeToken(uid) !== token) throw new OutpostError('invalid-input', `"${token}" is not a node token`);
  return uid;
}

export function nodeSubject(siteId: string, nodeUid: string, kind: NodeSubjectKind): string {
  return `${ROOT}.site.${assertSiteId(siteId)}.node.${nodeToken(nodeUid)}.${kind}`;
}

/** `outpost.site.<site>.node.*.<kind>` */
export function siteNodesSubject(siteId: string, kind: NodeSubjectKind | '*'): string {
  return `${ROOT}.site.${assertSiteId(siteId)}.node.*.${kind}`;
}

export type LoSubjectKind = 'heartbeat' | 'presence';
export function loSubject(siteId: string, kind: LoSubjectKind): string {
  return `${ROOT}.site.${assertSiteId(siteId)}.lo.${kind}`;
}

export function desiredSubject(siteId: string): string {
  return `${ROOT}.desired.${assertSiteId(siteId)}`;
}

/** The CO's application-level probe of a site's leaf link (ADR 0165): core NATS, never stored. */
export function linkPingSubject(siteId: string): string {
  return `${ROOT}.link.${assertSiteId(siteId)}.ping`;
}

/** Where an LO answers the probe (inside its site's namespace, outside what its upward stream captures). */
export function linkPongSubject(siteId: string): string {
  return `${ROOT}.site.${assertSiteId(siteId)}.link.pong`;
}

/** Delivery-subject prefix of a cross-domain stream source (so leaf permissions can name it). */
export function deliverPrefix(siteId: string, direction: 'up' | 'down'): string {
  return `${ROOT}.deliver.${assertSiteId(siteId)}.${direction}`;
}

/** The inbox prefix a node uses for its request replies (JetStream acknowledgements). */
export function nodeInboxPrefix(siteId: string, nodeUid: string): string {
  return `_INBOX.${ROOT}.${assertSiteId(siteId)}.${nodeToken(nodeUid)}`;
}

/** JetStream domain of an LO's server. */
export function siteDomain(siteId: string): string {
  return `site-${assertSiteId(siteId)}`;
}

/** The LO's upward stream (status, events, LO reports) in the site's domain. */
export function upStreamName(siteId: string): string {
  return `OUTPOST_UP_${assertSiteId(siteId)}`;
}

/** The hub's per-site stream of desired-state notices (the LO sources it). */
export function downStreamName(siteId: string): string {
  return `OUTPOST_DOWN_${assertSiteId(siteId)}`;
}

/** The LO's presence KV bucket (last-seen per node token). */
export function presenceBucket(siteId: string): string {
  return `OUTPOST_PRESENCE_${assertSiteId(siteId)}`;
}

/** The subjects an LO's upward stream captures. */
export function upStreamSubjects(siteId: string): string[] {
  return [
    siteNodesSubject(siteId, 'status'),
    siteNodesSubject(siteId, 'events'),
    `${ROOT}.site.${siteId}.lo.>`,
  ];
}

export interface ParsedSubject {
  siteId: string;
  /** Set for node subjects. */
  nodeUid?: string;
  source: 'node' | 'lo' | 'co';
  kind: string;
}

/** Parses `outpost.site.<site>.node.<tok>.<kind>` and `outpost.site.<site>.lo.<kind>`. */
export function parseSiteSubject(subject: string): ParsedSubject | undefined {
  const t = subject.split('.');
  if (t[0] !== ROOT || t[1] !== 'site' || !t[2] || !SITE_RE.test(t[2])) return undefined;
  if (t[3] === 'node' && t.length === 6) {
    try {
      return { siteId: t[2], nodeUid: nodeUidFromToken(t[4]!), source: 'node', kind: t[5]! };
    } catch {
      return undefined;
    }
  }
  if (t[3] === 'lo' && t.length === 5) return { siteId: t[2], source: 'lo', kind: t[4]! };
  return undefined;
}

/** Headers every Outpost message published through JetStream carries. */
export const HEADER_SEQ = 'Outpost-Seq';
export const HEADER_SENT_AT = 'Outpost-Sent-At';
/** Set by nats-server on a sourced message: `<origin stream>[:<id>] <origin sequence> ...`. */
export const HEADER_STREAM_SOURCE = 'Nats-Stream-Source';

/** The origin stream's sequence number of a sourced message, from its `Nats-Stream-Source` header. */
export function sourcedSequence(header: string | undefined | null): { stream: string; seq: number } | null {
  if (!header) return null;
  const [name, seq] = header.trim().split(/\s+/);
  const n = Number(seq);
  if (!name || !Number.isSafeInteger(n) || n <= 0) return null;
  return { stream: name.split(':')[0]!, seq: n };
}
