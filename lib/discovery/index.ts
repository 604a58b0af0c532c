/**
 * LAN discovery (DNS-SD over mDNS), shared by the LO, the agent and the CLI. Decisions: ADR 0460, 0461;
 * the TXT records: docs/discovery.md.
 *
 * - advertise({ type, name, port, txt, interfaces?, logger }) → { name(), updateTxt(), stop() }: @homebridge/ciao.
 * - browse({ type, interfaces?, logger }) → { list(), on('up'|'down'|'update'), refresh(), stop() }: bonjour-service.
 * - findLos({ interfaces?, timeoutMs?, settleMs?, siteId?, logger }) → the LOs advertising `_outpost._tcp`.
 * - chooseLo(found, { siteId?, caFingerprint? }) → the LO to use and the conflicting advertisements.
 * - loTxt / agentTxt / parseLoTxt / parseAgentTxt: the TXT records (pure).
 * - selectInterfaces / interfacesServing: which interfaces to use.
 *
 * Nothing happens at import time: the mDNS libraries are loaded when first used.
 */
export { advertise, type Advertisement, type AdvertiseOptions } from './advertise.js';
export { browse, type Browser, type BrowseOptions, type FoundService } from './browse.js';
export { findLos, los, type DiscoveredLo, type FindLosOptions } from './find.js';
export { chooseLo, type LoChoice } from './choose.js';
export { compareCode } from './code.js';
export { interfacesServing, selectInterfaces, type SelectedInterface } from './interfaces.js';
export {
  AGENT_SERVICE,
  agentTxt,
  FINGERPRINT,
  LO_SERVICE,
  loTxt,
  parseAgentTxt,
  parseLoTxt,
  shortFingerprint,
  TXT_VERSION,
  type AgentAdvertisement,
  type LoAdvertisement,
  type Txt,
} from './txt.js';
