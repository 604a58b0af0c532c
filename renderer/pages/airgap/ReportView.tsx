import { Alert, Stack, Table, TableBody, TableCell, TableRow } from '@mui/material';
import { formatAgeWords, formatBytes, type BundleReport } from '../../../lib/contract/index.js';
import { useTick } from '../../components/ticker.js';

/** What a verified bundle is and what importing it changes: shown before the operator applies it. */
export function ReportView({ report }: { report: BundleReport }) {
  const now = useTick();
  const when = (t: number) => (now >= t ? `${formatAgeWords(now - t)} ago` : `in ${formatAgeWords(t - now)}`);
  const c = report.changes;
  const rows: [string, string][] = [
    [
      'Bundle',
      report.kind === 'hq-to-site'
        ? `HQ bundle ${report.source} → site ${report.target}, #${report.sequence}`
        : `status bundle of site ${report.source} → ${report.target}, #${report.sequence}`,
    ],
    ['Last imported here', report.lastSequence === null ? 'none' : `#${report.lastSequence}`],
    ['Made', `${new Date(report.created).toLocaleString()} (${when(report.created)})`],
    ['Expires', `${new Date(report.expires).toLocaleString()} (${when(report.expires)})`],
    [
      'Signed by',
      `${report.signer.keyId} (trusted as ${report.signer.trustedAs})${report.signer.rotated.length ? `, through a key rotation to ${report.signer.rotated.join(', ')}` : ''}`,
    ],
    ['Content', `${report.blobs.count} blobs, ${formatBytes(report.blobs.bytes)}, every digest verified`],
  ];
  if (c.git)
    rows.push([
      'Desired state',
      c.git.commits === 0
        ? `unchanged (already at ${c.git.to.slice(0, 12)})`
        : `${c.git.commits} new commit${c.git.commits === 1 ? '' : 's'} → ${c.git.to.slice(0, 12)}; nodes: ${c.git.nodes.join(', ') || 'none of this site'}`,
    ]);
  if (report.kind === 'hq-to-site') {
    rows.push([
      'Artifacts',
      `${c.artifacts.total} referenced, ${c.artifacts.new} new to the site registry (${formatBytes(c.artifacts.newBytes)})`,
    ]);
    rows.push(['Applications', c.apps.total ? `${c.apps.names.join(', ')} (${c.apps.new} new)` : 'none']);
  }
  if (c.status)
    rows.push([
      'Status',
      `${c.status.nodes} nodes, ${c.status.statuses} new statuses, ${c.status.audit} audit entries, ${c.status.events} events, as of a bundle made ${formatAgeWords(now - c.status.asOf)} ago`,
    ]);
  if (c.newKeys.length) rows.push(['New trusted keys', c.newKeys.join(', ')]);
  if (c.acknowledges !== null)
    rows.push([
      'Acknowledges',
      `${report.kind === 'hq-to-site' ? 'status' : 'HQ'} bundle #${c.acknowledges}`,
    ]);
  return (
    <Stack spacing={1} data-testid="bundle-report">
      <Table size="small">
        <TableBody>
          {rows.map(([k, v]) => (
            <TableRow key={k}>
              <TableCell sx={{ width: 180, color: 'text.secondary' }}>{k}</TableCell>
              <TableCell data-testid={`report-${k.toLowerCase().replace(/ /g, '-')}`}>{v}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {report.warnings.map((w) => (
        <Alert key={w} severity="warning">
          {w}
        </Alert>
      ))}
    </Stack>
  );
}
