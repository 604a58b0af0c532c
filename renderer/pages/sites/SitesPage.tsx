import { useMemo, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  InputAdornment,
  MenuItem,
  Skeleton,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import AddIcon from '@mui/icons-material/Add';
import SearchIcon from '@mui/icons-material/Search';
import { api } from '../../api.js';
import { useSettled } from '../../settled.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { FetchedAge, PageHeader } from '../../components/PageHeader.js';
import type { PresenceReport } from './presence.js';
import type { GridPaginationModel, GridSortModel } from '@mui/x-data-grid';
import { describeAsOf, type NodeSortField, type Presence, type Site } from '../../../lib/contract/index.js';
import { useTick } from '../../components/ticker.js';
import { SitesTable } from './SitesTable.js';
import { AddSiteDialog } from './AddSiteDialog.js';
import { NodesGrid } from './NodesGrid.js';
import { AddNodeDialog } from './NodeDialogs.js';
import { EnrollRequests } from './EnrollRequests.js';
import { RoleGate, RoleNote } from '../../components/RoleGate.js';
import { EnrollDialog } from './EnrollDialog.js';
import { BulkActions } from './BulkActions.js';
import { routeQuery, useRoute } from '../../router.js';
import QrCodeIcon from '@mui/icons-material/QrCode2';

/** Grid columns the server sorts by (the model column shows, and sorts by, the model's name). */
const SORT_FIELDS: Record<string, NodeSortField> = {
  name: 'name',
  siteId: 'siteId',
  state: 'state',
  presence: 'presence',
  modelId: 'model',
  cordoned: 'cordoned',
};
const PRESENCES: Presence[] = ['online', 'stale', 'offline', 'unknown'];

export function SitesPage() {
  // `#/sites?site=plant&presence=offline` (the Dashboard links here) opens with those filters.
  const route = useRoute();
  const params = routeQuery(route);
  const asPresence = (v: string | null): Presence | '' =>
    (PRESENCES as string[]).includes(v ?? '') ? (v as Presence) : '';
  const [site, setSite] = useState(params.get('site') ?? '');
  const [labelFilter, setLabelFilter] = useState('');
  const [presence, setPresence] = useState<Presence | ''>(asPresence(params.get('presence')));
  // A new link from the Dashboard (another query) sets the filters again.
  const [linked, setLinked] = useState(params.toString());
  if (linked !== params.toString()) {
    setLinked(params.toString());
    if (params.get('site') !== null) setSite(params.get('site')!);
    if (params.get('presence') !== null) setPresence(asPresence(params.get('presence')));
  }
  const [selected, setSelected] = useState<string[]>([]);
  const [enrolling, setEnrolling] = useState(false);
  const [paging, setPaging] = useState<GridPaginationModel>({ page: 0, pageSize: 100 });
  const [sortModel, setSortModel] = useState<GridSortModel>([{ field: 'name', sort: 'asc' }]);
  const [addingSite, setAddingSite] = useState(false);
  const [addingNode, setAddingNode] = useState(false);
  const sitesQ = useQuery({ queryKey: ['sites', 'list'], queryFn: () => api.sites.list({}) });
  // Each site's link from evidence (ADR 0165); admin tokens only (others see no link column).
  const linksQ = useQuery({
    queryKey: ['sites', 'links'],
    queryFn: () => api.messaging.siteLinks({}),
    refetchInterval: 5000,
    retry: false,
  });
  const siteLinks = useMemo(
    () =>
      linksQ.data
        ? {
            links: linksQ.data.links,
            serverNow: linksQ.data.now ?? linksQ.dataUpdatedAt,
            receivedAt: linksQ.dataUpdatedAt,
          }
        : undefined,
    [linksQ.data, linksQ.dataUpdatedAt],
  );
  const modelsQ = useQuery({ queryKey: ['device-models', 'list'], queryFn: () => api.deviceModels.list({}) });
  const search = useSettled(labelFilter.trim(), 250);
  // A new filter or sort starts again at the first page.
  const [filterKey, setFilterKey] = useState('');
  const key = JSON.stringify([site, search, presence, sortModel]);
  if (key !== filterKey) {
    setFilterKey(key);
    if (paging.page !== 0) setPaging({ ...paging, page: 0 });
  }
  const sorted = sortModel[0];
  const query = {
    ...(site ? { siteId: site } : {}),
    ...(search ? { search } : {}),
    ...(presence ? { presence: [presence] } : {}),
    ...(sorted && SORT_FIELDS[sorted.field]
      ? {
          sort: {
            field: SORT_FIELDS[sorted.field]!,
            direction: sorted.sort === 'desc' ? 'desc' : 'asc',
          } as const,
        }
      : {}),
    limit: paging.pageSize,
    offset: paging.page * paging.pageSize,
    capabilities: false,
  };
  const nodesQ = useQuery({
    queryKey: ['nodes', 'list', query],
    queryFn: () => api.nodes.list(query),
    placeholderData: (prev) => prev,
    // Heartbeats change presence without a `changed` event: ask again four times per stale window. Between
    // answers, PresenceChip ages the last one (it only ever downgrades), so the refresh period counts into
    // the margin the stale threshold leaves over the check-in period (ADR 0500).
    refetchInterval: (q) => Math.max(1000, ((q.state.data?.staleAfterSeconds ?? 70) * 1000) / 4),
  });

  const data = nodesQ.data;
  const report = useMemo<PresenceReport | null>(
    () =>
      data
        ? {
            serverNow: data.now,
            receivedAt: nodesQ.dataUpdatedAt,
            staleAfterSeconds: data.staleAfterSeconds,
            offlineAfterSeconds: data.offlineAfterSeconds,
          }
        : null,
    [data, nodesQ.dataUpdatedAt],
  );
  const sites = sitesQ.data?.sites ?? [];
  const models = modelsQ.data?.models ?? [];

  return (
    <Box>
      <PageHeader
        title="Sites & Nodes"
        text="Sites with the Local Orchestrator that serves them, and their edge nodes: presence with its age, labels, cordon state and capabilities."
        actions={
          <>
            <RoleNote
              channels={['nodes.cordon', 'nodes.label', 'nodes.remove', 'nodes.bulk']}
              what="changing nodes"
            />
            <RoleGate channel="sites.add" action="Add site">
              <Button
                variant="outlined"
                startIcon={<AddIcon />}
                onClick={() => setAddingSite(true)}
                data-testid="add-site"
              >
                Add site
              </Button>
            </RoleGate>
            <RoleGate channel="nodes.add" action="Add node">
              <Button
                variant="outlined"
                startIcon={<AddIcon />}
                onClick={() => setAddingNode(true)}
                disabled={sites.length === 0}
                data-testid="add-node"
              >
                Add node
              </Button>
            </RoleGate>
            <RoleGate channel="identity.createEnrollTokens" action="Enroll nodes">
              <Button
                variant="contained"
                startIcon={<QrCodeIcon />}
                onClick={() => setEnrolling(true)}
                disabled={sites.length === 0}
                data-testid="enroll-nodes"
              >
                Enroll nodes
              </Button>
            </RoleGate>
          </>
        }
      />
      <Stack spacing={2}>
        <Card variant="outlined">
          <CardContent>
            <Stack direction="row" spacing={2} sx={{ alignItems: 'baseline' }}>
              <Typography variant="h6">Sites</Typography>
              <Typography variant="caption" color="text.secondary">
                <FetchedAge updatedAt={sitesQ.dataUpdatedAt} />
              </Typography>
            </Stack>
            {sitesQ.error ? <ErrorAlert error={sitesQ.error} /> : null}
            {sitesQ.data ? (
              <SitesTable sites={sites} selected={site} onSelect={setSite} links={siteLinks} />
            ) : sitesQ.error ? null : (
              <Skeleton variant="rectangular" height={80} />
            )}
          </CardContent>
        </Card>
        <EnrollRequests sites={sites} models={models} />
        <Card variant="outlined">
          <CardContent>
            <Stack direction="row" spacing={2} sx={{ alignItems: 'center', mb: 1, flexWrap: 'wrap' }}>
              <Typography variant="h6">Nodes</Typography>
              <Typography variant="caption" color="text.secondary" data-testid="nodes-age">
                <FetchedAge updatedAt={nodesQ.dataUpdatedAt} />
                {data
                  ? ` · stale after ${data.staleAfterSeconds}s, offline after ${data.offlineAfterSeconds}s without a word`
                  : ''}
              </Typography>
              <Box sx={{ flexGrow: 1 }} />
              <TextField
                select
                size="small"
                label="Site"
                value={site}
                onChange={(e) => setSite(e.target.value)}
                sx={{ minWidth: 180 }}
                slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'site-filter' } as object } }}
              >
                <MenuItem value="">all sites</MenuItem>
                {sites.map((s) => (
                  <MenuItem key={s.id} value={s.id}>
                    {s.name}
                  </MenuItem>
                ))}
              </TextField>
              <TextField
                select
                size="small"
                label="Presence"
                value={presence}
                onChange={(e) => setPresence(e.target.value as Presence | '')}
                sx={{ minWidth: 140 }}
                slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'presence-filter' } as object } }}
              >
                <MenuItem value="">any</MenuItem>
                {PRESENCES.map((p) => (
                  <MenuItem key={p} value={p}>
                    {p}
                  </MenuItem>
                ))}
              </TextField>
              <TextField
                size="small"
                label="Search"
                placeholder="name or key=value"
                value={labelFilter}
                onChange={(e) => setLabelFilter(e.target.value)}
                sx={{ minWidth: 220 }}
                slotProps={{
                  input: {
                    startAdornment: (
                      <InputAdornment position="start">
                        <SearchIcon fontSize="small" />
                      </InputAdornment>
                    ),
                  },
                  htmlInput: { 'data-testid': 'label-filter' },
                }}
              />
            </Stack>
            {nodesQ.error ? <ErrorAlert error={nodesQ.error} /> : null}
            <AirGapNotice site={sites.find((s) => s.id === site)} />
            <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }} data-testid="node-count">
              {data
                ? `${data.total} node${data.total === 1 ? '' : 's'}${site ? ` at ${site}` : ''}${search ? ` matching "${search}"` : ''}${presence ? ` ${presence}` : ''}`
                : ''}
            </Typography>
            {selected.length > 0 ? (
              <BulkActions names={selected.map(nameOfUid)} models={models} onDone={() => setSelected([])} />
            ) : null}
            <NodesGrid
              selected={selected}
              onSelectedChange={setSelected}
              nodes={data?.nodes ?? []}
              total={data?.total ?? 0}
              models={models}
              report={report}
              loading={nodesQ.isLoading || (nodesQ.isFetching && nodesQ.isPlaceholderData)}
              paginationModel={paging}
              onPaginationModelChange={setPaging}
              sortModel={sortModel}
              onSortModelChange={setSortModel}
            />
          </CardContent>
        </Card>
      </Stack>
      <AddSiteDialog open={addingSite} onClose={() => setAddingSite(false)} />
      {enrolling ? (
        <EnrollDialog sites={sites} defaultSite={site} onClose={() => setEnrolling(false)} />
      ) : null}
      {addingNode ? (
        <AddNodeDialog
          sites={sites}
          models={models}
          defaultSite={site}
          onClose={() => setAddingNode(false)}
        />
      ) : null}
    </Box>
  );
}

/** What HQ shows of an air-gapped site is as old as its last status bundle: say so above its nodes. */
function AirGapNotice({ site }: { site: Site | undefined }) {
  const now = useTick();
  if (!site?.airGapped) return null;
  const asOf = describeAsOf(site.bundles?.asOf ?? null, now);
  return (
    <Alert severity="info" sx={{ mb: 1 }} data-testid="airgap-notice">
      {site.name} is air-gapped:{' '}
      {asOf ? `what is shown here is ${asOf}.` : 'no status bundle from it yet; nothing shown here is live.'}
    </Alert>
  );
}

/** A node's name from its uid (`<tenant>.<name>`; a tenant id has no dot). */
function nameOfUid(uid: string): string {
  return uid.slice(uid.indexOf('.') + 1);
}
