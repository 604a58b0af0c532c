import { useQuery } from '@tanstack/react-query';
import {
  Card,
  CardContent,
  Chip,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import {
  describeCarried,
  describeSiteReach,
  formatAge,
  formatBytes,
  type BundleIdentity,
  type BundleStreamView,
  type BundleSummaryView,
} from '../../../lib/contract/index.js';
import { GatedButton } from '../../components/RoleGate.js';
import { api } from '../../api.js';
import { routeQuery, useRoute } from '../../router.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { useTick } from '../../components/ticker.js';
import type { ExportTarget } from './ExportDialog.js';

function Summary({ s, at, now }: { s: BundleSummaryView | null; at: number | null; now: number }) {
  if (!s || at === null)
    return (
      <Typography variant="body2" color="text.secondary">
        none
      </Typography>
    );
  const carried = describeCarried(s.carried);
  return (
    <Typography variant="body2" data-testid="bundle-summary" data-sequence={s.sequence}>
      #{s.sequence} · made {formatAge(Math.max(0, now - s.created))} ago · {formatBytes(s.bytes)}
      <br />
      <Typography component="span" variant="caption" color="text.secondary">
        {carried}
      </Typography>
    </Typography>
  );
}

/** Per site: how it is reached, the last bundle each way (sequence, time, size, what it carried). */
export function StreamsCard({
  identity,
  onExport,
}: {
  identity: BundleIdentity;
  onExport: (t: ExportTarget) => void;
}) {
  const now = useTick();
  // The site a link named (`/airgap?site=mine`, from the Dashboard): its row is marked.
  const picked = routeQuery(useRoute()).get('site');
  const hq = identity.role !== 'lo';
  const streams = useQuery({ queryKey: ['bundles', 'streams'], queryFn: () => api.bundle.streams({}) });
  const sites = useQuery({ queryKey: ['sites'], queryFn: () => api.sites.list({}), enabled: hq });
  const bySite = new Map<string, { out?: BundleStreamView; in?: BundleStreamView }>();
  for (const s of streams.data?.streams ?? []) {
    const e = bySite.get(s.siteId) ?? {};
    e[s.direction] = s;
    bySite.set(s.siteId, e);
  }
  const rows = hq
    ? (sites.data?.sites ?? []).filter((s) => s.servedBy === 'remote' || s.airGapped || bySite.has(s.id))
    : identity.siteId
      ? [{ id: identity.siteId, airGapped: true, bundles: null }]
      : [];
  return (
    <Card variant="outlined" data-testid="streams-card">
      <CardContent>
        <Typography variant="h6" gutterBottom>
          {hq ? 'Sites' : `This site (${identity.siteId ?? ''})`}
        </Typography>
        {streams.error ? <ErrorAlert error={streams.error} /> : null}
        {rows.length === 0 ? (
          <Typography variant="body2" color="text.secondary">
            No remote site. Add one with edgectl co add site ID --air-gapped, or on the Sites page.
          </Typography>
        ) : (
          <Table size="small" data-testid="streams-table">
            <TableHead>
              <TableRow>
                <TableCell>Site</TableCell>
                <TableCell>Reached</TableCell>
                <TableCell>{hq ? 'Last bundle to the site' : 'Last status bundle to HQ'}</TableCell>
                <TableCell>{hq ? 'Last status bundle from it' : 'Last bundle from HQ'}</TableCell>
                <TableCell>Acknowledged</TableCell>
                <TableCell align="right" />
              </TableRow>
            </TableHead>
            <TableBody>
              {rows.map((site) => {
                const e = bySite.get(site.id) ?? {};
                return (
                  <TableRow
                    key={site.id}
                    data-testid="stream-row"
                    data-site-id={site.id}
                    selected={site.id === picked}
                    aria-current={site.id === picked ? 'true' : undefined}
                  >
                    <TableCell>
                      <code>{site.id}</code>
                    </TableCell>
                    <TableCell>
                      <Chip
                        size="small"
                        variant="outlined"
                        color={site.airGapped ? 'warning' : 'default'}
                        label={hq ? describeSiteReach(site, now) : 'air-gapped'}
                        data-testid="site-reach"
                      />
                    </TableCell>
                    <TableCell>
                      <Summary s={e.out?.lastExported ?? null} at={e.out?.lastExportedAt ?? null} now={now} />
                    </TableCell>
                    <TableCell>
                      <Summary s={e.in?.lastImported ?? null} at={e.in?.lastImportedAt ?? null} now={now} />
                    </TableCell>
                    <TableCell>
                      {e.out?.acknowledged !== null && e.out?.acknowledged !== undefined
                        ? `#${e.out.acknowledged} (${formatAge(Math.max(0, now - (e.out.acknowledgedAt ?? now)))} ago)`
                        : '-'}
                    </TableCell>
                    <TableCell align="right">
                      <GatedButton
                        channel={hq ? 'bundle.export' : 'bundle.exportStatus'}
                        size="small"
                        variant="outlined"
                        onClick={() => onExport(hq ? { kind: 'site', siteId: site.id } : { kind: 'status' })}
                        data-testid="export-button"
                      >
                        {hq ? 'Export bundle' : 'Export status'}
                      </GatedButton>
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}
