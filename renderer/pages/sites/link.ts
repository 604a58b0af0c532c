import type { SiteLink } from '../../../lib/contract/index.js';
import { formatAge } from '../../format.js';

/**
 * How a site's link shows in the Sites table (ADR 0165): the state from evidence, since when (server
 * clock, aged by the time since the answer arrived), and the backlog, which is "unknown" (never 0)
 * when the link is not known to work.
 */
export interface LinkDisplay {
  label: string;
  color: 'success' | 'warning' | 'error' | 'default';
  /** "since 2m 5s" (unreachable: since the newest evidence), or null. */
  since: string | null;
  backlog: string;
  /** The tooltip: what the evidence says. */
  detail: string;
}

export function linkDisplay(l: SiteLink, serverNow: number, elapsedMs: number): LinkDisplay {
  const now = serverNow + Math.max(0, elapsedMs);
  const age = (at: number | null) => (at === null ? null : formatAge(Math.max(0, now - at)));
  const since = age(l.since);
  const color: LinkDisplay['color'] =
    l.link === 'connected'
      ? 'success'
      : l.link === 'unreachable'
        ? 'error'
        : l.link === 'disconnected'
          ? 'warning'
          : 'default';
  const label = l.link === 'local' ? 'this server' : l.link === 'standalone' ? 'no CO link' : l.link;
  const backlog =
    l.link === 'local'
      ? l.backlog === null || l.backlog === 0
        ? ''
        : `backlog ${l.backlog}`
      : l.backlog === null
        ? 'backlog unknown'
        : `backlog ${l.backlog}`;
  const contact =
    l.lastContactSeconds === null
      ? 'no contact yet'
      : `last contact ${formatAge(l.lastContactSeconds * 1000 + Math.max(0, elapsedMs))} ago`;
  const data =
    l.dataAgeSeconds === null
      ? 'no data yet'
      : `newest data ${formatAge(l.dataAgeSeconds * 1000 + Math.max(0, elapsedMs))} old`;
  const repairs = l.repairs
    ? `; the watchdog re-created its stream ${l.repairs} time${l.repairs === 1 ? '' : 's'}`
    : '';
  return {
    label,
    color,
    since: since === null ? null : `since ${since}`,
    backlog,
    detail: l.link === 'local' ? 'served by this server' : `${contact}; ${data}${repairs}`,
  };
}
