import type { Config } from '../config.js';
import type { Logger } from '../../lib/log/index.js';
import type { EventHub } from '../events.js';
import {
  advertise,
  AGENT_SERVICE,
  browse,
  interfacesServing,
  LO_SERVICE,
  loTxt,
  los,
  parseAgentTxt,
  selectInterfaces,
  shortFingerprint,
  type Advertisement,
  type Browser,
} from '../../lib/discovery/index.js';
import type { SiteIdentity } from './identity-store.js';

/**
 * The LO on the LAN (ADR 0460): advertises `_outpost._tcp` on the interfaces its MMI serves (none when it
 * listens on loopback only), and browses `_outpost-agent._tcp` (machines the console can list as "found on
 * the network") and `_outpost._tcp` (another LO advertising one of our sites with another CA: a conflict).
 * Discovery never stops the LO: a failure is logged and shown as a note.
 */

export interface DiscoveryStatus {
  enabled: boolean;
  advertising: {
    name: string;
    interfaces: string[];
    siteId: string;
    mmiUrl: string;
    caFingerprint: string;
  } | null;
  note: string | null;
  agents: {
    instance: string;
    host: string;
    addresses: string[];
    port: number;
    keyFingerprint: string;
    shortFingerprint: string;
    version: string;
    nodeId: string | null;
    siteId: string | null;
    requestId: string | null;
    enrolledAs: string | null;
    lastSeen: number;
  }[];
  conflicts: {
    instance: string;
    siteId: string;
    mmiUrl: string;
    caFingerprint: string;
    from: string | null;
    lastSeen: number;
  }[];
  now: number;
}

export interface LoDiscovery {
  start(mmi: { url: string; port: number }): Promise<void>;
  stop(): Promise<void>;
  status(now: number): DiscoveryStatus;
}

export interface LoDiscoveryDeps {
  config: Config;
  logger: Logger;
  events: EventHub;
  identity: SiteIdentity;
  version: string;
  tenantId: string;
  /** Sites whose LO we are (a rival advertisement for one of them is a conflict). */
  servedSites: () => string[];
  /** Pending enrollment requests by key fingerprint. */
  pendingByKey: () => Map<string, string>;
  /** Whether a node with this uid is enrolled here. */
  isEnrolledNode: (uid: string) => boolean;
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

export function createLoDiscovery(deps: LoDiscoveryDeps): LoDiscovery {
  const { config, identity } = deps;
  const log = deps.logger.child({ component: 'discovery' });
  let ad: Advertisement | undefined;
  let agents: Browser | undefined;
  let rivals: Browser | undefined;
  let advertised: DiscoveryStatus['advertising'] = null;
  let note: string | null = !config.discovery.enabled
    ? 'discovery is off (discovery.enabled: false)'
    : config.role === 'co'
      ? 'this server runs no LO (--role co): nothing to advertise'
      : !config.mmi.enabled
        ? 'the Margo Management Interface is off (mmi.enabled: false)'
        : null;
  const changed = () => deps.events.changed(deps.tenantId, 'discovery');

  return {
    async start(mmi) {
      if (!config.discovery.enabled) return;
      const wanted =
        config.discovery.interfaces.length > 0
          ? config.discovery.interfaces
          : interfacesServing(config.mmi.host);
      if (wanted.length === 0) {
        note = `the MMI listens on ${config.mmi.host} only, which no other host can reach: nothing is advertised (set mmi.host to a LAN address, or discovery.interfaces)`;
        log.info(note);
        return;
      }
      try {
        const selected = selectInterfaces(wanted);
        const ca = identity.requireCa();
        const mmiUrl =
          config.discovery.mmiUrl ??
          (WILDCARD.has(config.mmi.host)
            ? mmi.url.replace(/^https:\/\/[^/]+/, `https://${selected[0]!.ipv4}:${mmi.port}`)
            : mmi.url);
        const name = `Outpost LO ${config.site.id}`.slice(0, 63);
        const txt = loTxt({
          siteId: config.site.id,
          mmiUrl,
          caFingerprint: ca.fingerprint,
          trustDomain: identity.trustDomain,
          version: deps.version,
        });
        const names = selected.map((i) => i.name);
        ad = await advertise({ type: LO_SERVICE, name, port: mmi.port, txt, interfaces: names, logger: log });
        advertised = {
          name: ad.name(),
          interfaces: names,
          siteId: config.site.id,
          mmiUrl,
          caFingerprint: ca.fingerprint,
        };
        agents = await browse({ type: AGENT_SERVICE, interfaces: names, logger: log });
        rivals = await browse({ type: LO_SERVICE, interfaces: names, logger: log });
        for (const b of [agents, rivals]) {
          b.on('up', changed);
          b.on('down', changed);
          b.on('update', changed);
        }
        rivals.on('up', (s) => {
          const conflict = los([s]).find(
            (l) => l.caFingerprint !== ca.fingerprint && deps.servedSites().includes(l.siteId),
          );
          if (conflict)
            log.warn(
              {
                securityEvent: 'rival-lo',
                site: conflict.siteId,
                mmiUrl: conflict.mmiUrl,
                ca: conflict.caFingerprint,
                from: s.from,
              },
              `another LO advertises site ${conflict.siteId} with another CA (${shortFingerprint(conflict.caFingerprint)}); nodes with a token refuse it`,
            );
        });
        note = null;
      } catch (err) {
        note = `discovery failed: ${(err as Error).message}`;
        log.warn({ err: (err as Error).message }, 'LAN discovery not running');
      }
    },
    async stop() {
      const all = [ad?.stop(), agents?.stop(), rivals?.stop()];
      ad = undefined;
      agents = undefined;
      rivals = undefined;
      advertised = null;
      await Promise.allSettled(all);
    },
    status(now) {
      const pending = deps.pendingByKey();
      const ours = identity.ca()?.fingerprint;
      const served = new Set(deps.servedSites());
      const seenAgents = new Map<string, DiscoveryStatus['agents'][number]>();
      for (const s of agents?.list() ?? []) {
        const a = parseAgentTxt(s.txt);
        if (!a) continue;
        const prev = seenAgents.get(s.fqdn);
        if (prev && prev.lastSeen >= s.lastSeen) continue;
        seenAgents.set(s.fqdn, {
          instance: s.name,
          host: s.host,
          addresses: s.addresses.length > 0 ? s.addresses : s.from ? [s.from] : [],
          port: s.port,
          keyFingerprint: a.keyFingerprint,
          shortFingerprint: shortFingerprint(a.keyFingerprint),
          version: a.version,
          nodeId: a.nodeId ?? null,
          siteId: a.siteId ?? null,
          requestId: pending.get(a.keyFingerprint) ?? null,
          enrolledAs: a.nodeId && deps.isEnrolledNode(a.nodeId) ? a.nodeId : null,
          lastSeen: s.lastSeen,
        });
      }
      const conflicts = los(rivals?.list() ?? [])
        .filter((l) => l.caFingerprint !== ours && served.has(l.siteId))
        .map((l) => ({
          instance: l.instance,
          siteId: l.siteId,
          mmiUrl: l.mmiUrl,
          caFingerprint: l.caFingerprint,
          from: l.from ?? null,
          lastSeen: (rivals?.list() ?? []).find((s) => s.name === l.instance)?.lastSeen ?? now,
        }));
      return {
        enabled: config.discovery.enabled,
        advertising: advertised,
        note,
        agents: [...seenAgents.values()].sort((a, b) => a.instance.localeCompare(b.instance)),
        conflicts,
        now,
      };
    },
  };
}
