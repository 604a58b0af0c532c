import { formatAgeWords, formatBytes, type BundleReport } from '../../../lib/contract/index.js';
import { keyValues } from '../../lib/output.js';

/** What a verified bundle is and what importing it changes (or changed), for `bundle verify` and `import`. */
export function describeReport(r: BundleReport, now: number, file: string | null): string {
  const kind =
    r.kind === 'hq-to-site'
      ? `HQ bundle ${r.source} -> site ${r.target}`
      : `status bundle of site ${r.source} -> ${r.target}`;
  const c = r.changes;
  const when = (t: number) => {
    const d = now - t;
    return d >= 0 ? `${formatAgeWords(d)} ago` : `in ${formatAgeWords(-d)}`;
  };
  const rows: [string, string | number | null][] = [
    ['bundle', `${file ?? '-'} (${formatBytes(r.bytes)})`],
    [
      'what',
      `${kind}, #${r.sequence} (last imported here: ${r.lastSequence === null ? 'none' : `#${r.lastSequence}`})`,
    ],
    ['created', `${new Date(r.created).toISOString()} (${when(r.created)})`],
    ['expires', `${new Date(r.expires).toISOString()} (${when(r.expires)})`],
    [
      'signed by',
      `${r.signer.keyId} (trusted as ${r.signer.trustedAs}), ${r.signer.fingerprint}${r.signer.rotated.length ? `; follows rotation to ${r.signer.rotated.join(', ')}` : ''}`,
    ],
    ['blobs', `${r.blobs.count} (${formatBytes(r.blobs.bytes)}), every digest verified`],
  ];
  if (c.git)
    rows.push([
      'desired state',
      c.git.commits === 0
        ? `already at ${c.git.to.slice(0, 12)}`
        : `${c.git.commits} new commit${c.git.commits === 1 ? '' : 's'}, ${c.git.current ? c.git.current.slice(0, 12) : '(nothing)'} -> ${c.git.to.slice(0, 12)}${c.git.nodes.length ? `; nodes: ${c.git.nodes.join(', ')}` : ''}`,
    ]);
  if (r.kind === 'hq-to-site') {
    rows.push([
      'artifacts',
      `${c.artifacts.total} referenced, ${c.artifacts.new} new to the site registry (${formatBytes(c.artifacts.newBytes)})`,
    ]);
    rows.push(['applications', c.apps.total ? `${c.apps.names.join(', ')} (${c.apps.new} new)` : 'none']);
  }
  if (c.status)
    rows.push([
      'status',
      `${c.status.nodes} nodes, ${c.status.statuses} new statuses, ${c.status.audit} audit entries, ${c.status.events} events, as of ${when(c.status.asOf)}`,
    ]);
  if (c.newKeys.length) rows.push(['new keys', c.newKeys.join(', ')]);
  if (c.acknowledges !== null)
    rows.push(['acknowledges', `${r.kind === 'hq-to-site' ? 'status' : 'HQ'} bundle #${c.acknowledges}`]);
  for (const w of r.warnings) rows.push(['warning', w]);
  return keyValues(rows);
}
