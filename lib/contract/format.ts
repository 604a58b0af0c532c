/** Formatting shared by the CLI and the console (browser-safe). */

/** "3s", "5m 2s", "2h 10m", "4d 3h": the age of a state for humans. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

/** "3 days", "5 hours", "12 minutes", "just now": a coarse age for sentences. */
export function formatAgeWords(ms: number): string {
  if (!Number.isFinite(ms)) return 'an unknown time';
  if (ms < 60_000) return ms < 0 ? 'in the future' : 'moments';
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  const m = Math.floor(ms / 60_000);
  if (m < 60) return plural(m, 'minute');
  const h = Math.floor(m / 60);
  if (h < 48) return plural(h, 'hour');
  return plural(Math.floor(h / 24), 'day');
}

/**
 * How a site is reached, for lists and headers: `connected`, or `air-gapped, last bundle 3 days ago`
 * (`air-gapped, no bundle yet`). The age is that of the newer bundle either way.
 */
export function describeSiteReach(
  site: { airGapped: boolean; bundles: { lastBundleAt: number | null } | null },
  now: number,
): string {
  if (!site.airGapped) return 'connected';
  const at = site.bundles?.lastBundleAt ?? null;
  if (at === null) return 'air-gapped, no bundle yet';
  const age = formatAgeWords(now - at);
  return age === 'moments' ? 'air-gapped, last bundle moments ago' : `air-gapped, last bundle ${age} ago`;
}

/** "as of a bundle made 3 days ago": the age of what HQ knows of an air-gapped site. */
export function describeAsOf(asOf: number | null, now: number): string | null {
  if (asOf === null) return null;
  return `as of a bundle made ${formatAgeWords(now - asOf)} ago`;
}

/** `1.5 MiB`: sizes for humans (binary units). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** `2m 05s`, `45s`: a time left or taken. */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '-';
  const t = Math.round(s);
  if (t < 60) return `${t}s`;
  const m = Math.floor(t / 60);
  if (m < 60) return `${m}m ${String(t % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

const CARRIED: Record<string, [string, string]> = {
  commits: ['commit', 'commits'],
  artifacts: ['artifact', 'artifacts'],
  apps: ['application', 'applications'],
  deployments: ['deployment', 'deployments'],
  nodes: ['node', 'nodes'],
  statuses: ['status report', 'status reports'],
  audit: ['audit entry', 'audit entries'],
  events: ['event', 'events'],
  manifests: ['registry manifest', 'registry manifests'],
};

/** What a bundle carried, for people: "1 commit, 2 artifacts (4.0 MiB), 1 application". Zeros left out. */
export function describeCarried(carried: Record<string, number>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(carried)) {
    if (k === 'artifactBytes' || v === 0) continue;
    const [one, many] = CARRIED[k] ?? [k, k];
    parts.push(
      `${v} ${v === 1 ? one : many}${k === 'artifacts' && carried.artifactBytes ? ` (${formatBytes(carried.artifactBytes)})` : ''}`,
    );
  }
  return parts.length ? parts.join(', ') : 'nothing new';
}
