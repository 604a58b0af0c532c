import { OutpostError } from '../errors/index.js';
import type { DiscoveredLo } from './find.js';
import { shortFingerprint } from './txt.js';

export interface LoChoice {
  lo: DiscoveredLo;
  /** Advertisements for the same site with another CA: refused, and worth an operator's attention. */
  conflicts: DiscoveredLo[];
}

/**
 * Picks the LO to enroll at from what discovery found (ADR 0461). An advertisement is a hint only:
 * - With the CA fingerprint of a token, only an LO advertising exactly that CA is used; others for the same
 *   site are returned as conflicts (a rogue or misconfigured LO), never contacted.
 * - Without one, the choice must be unambiguous: one site (or `siteId`) and one CA for it. Two CAs for one
 *   site cannot be told apart without a token, so that is refused as a conflict.
 */
export function chooseLo(
  found: readonly DiscoveredLo[],
  want: { siteId?: string | undefined; caFingerprint?: string | undefined },
): LoChoice {
  const line = (l: DiscoveredLo) =>
    `site ${l.siteId} at ${l.mmiUrl} (CA ${shortFingerprint(l.caFingerprint)}, "${l.instance}")`;
  const candidates = found.filter((l) => want.siteId === undefined || l.siteId === want.siteId);
  if (candidates.length === 0) {
    const seen = found.length === 0 ? 'none' : found.map(line).join('; ');
    throw new OutpostError(
      'not-found',
      want.siteId === undefined
        ? 'no LO advertises itself on this network (_outpost._tcp); pass --lo URL'
        : `no LO advertises site "${want.siteId}" on this network (found: ${seen}); pass --lo URL`,
    );
  }
  if (want.caFingerprint !== undefined) {
    const fp = want.caFingerprint;
    const matching = candidates.filter((l) => l.caFingerprint === fp);
    const siteIds = new Set(matching.map((l) => l.siteId));
    const conflicts = candidates.filter((l) => l.caFingerprint !== fp && siteIds.has(l.siteId));
    if (matching.length === 0) {
      throw new OutpostError(
        'agent/ca-mismatch',
        `no LO on this network presents the site CA of the token (${shortFingerprint(fp)}); found: ${candidates.map(line).join('; ')}`,
        { status: 403 },
      );
    }
    return { lo: matching[0]!, conflicts };
  }
  const bySite = new Map<string, DiscoveredLo[]>();
  for (const l of candidates) bySite.set(l.siteId, [...(bySite.get(l.siteId) ?? []), l]);
  if (bySite.size > 1) {
    throw new OutpostError(
      'conflict',
      `${bySite.size} sites advertise an LO on this network; choose one with --site: ${candidates.map(line).join('; ')}`,
      { data: { found: candidates } },
    );
  }
  const [only] = [...bySite.values()];
  const cas = new Set(only!.map((l) => l.caFingerprint));
  if (cas.size > 1) {
    throw new OutpostError(
      'conflict',
      `${cas.size} LOs advertise site "${only![0]!.siteId}" with different CAs; one of them is not the site's LO. Enroll with a token (--token) or name the LO (--lo): ${only!.map(line).join('; ')}`,
      { data: { found: only } },
    );
  }
  return { lo: only![0]!, conflicts: [] };
}
