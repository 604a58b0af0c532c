import { useMemo } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Box, Button, Chip } from '@mui/material';
import { DataGrid, type GridColDef } from '@mui/x-data-grid';
import AddIcon from '@mui/icons-material/Add';
import type { DeploymentSummary } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { navigate, useRoute } from '../../router.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { FetchedAge, PageHeader } from '../../components/PageHeader.js';
import { Age, NowProvider } from './now.js';
import { DeploymentStateChip } from './StateChip.js';
import { DeploymentDetail } from './DeploymentDetail.js';
import { DeploymentWizard } from './wizard/DeploymentWizard.js';
import type { ServerTime } from './node-state.js';
import { useAdaptiveInterval } from './use-refetch-on.js';
import { deploymentPath, newDeploymentPath, parseDeploymentRoute } from './routes.js';

/** `#/deployments`, `#/deployments/new`, `#/deployments/<id>`. */
export function DeploymentsPage() {
  const route = parseDeploymentRoute(useRoute());
  if (route.kind === 'new')
    return (
      <DeploymentWizard
        key={`${route.appId ?? ''}@${route.version ?? ''}`}
        initialAppId={route.appId}
        initialVersion={route.version}
      />
    );
  if (route.kind === 'detail') return <DeploymentDetail key={route.id} id={route.id} />;
  return <DeploymentsList />;
}

const count = (state: string) => (_v: unknown, row: DeploymentSummary) => row.counts[state] ?? 0;

function CountCell({
  n,
  color,
  testId,
}: {
  n: number;
  color: 'success' | 'error' | 'warning';
  testId: string;
}) {
  return n > 0 ? (
    <Chip size="small" color={color} variant="outlined" label={n} data-testid={testId} data-value={n} />
  ) : (
    <span data-testid={testId} data-value={0}>
      0
    </span>
  );
}

const rowId = (r: DeploymentSummary) => r.id;

/** Deployments of the tenant, as `edgectl co list deployments` shows them, live. */
function DeploymentsList() {
  const refresh = useAdaptiveInterval();
  const q = useQuery({
    queryKey: ['deployments', 'list'],
    queryFn: () => refresh.timed(() => api.deployments.list({})),
    // Presence going stale changes the counts without a `deployments` event.
    refetchInterval: refresh.interval,
  });
  const time: ServerTime = useMemo(
    () => ({ serverNow: q.data?.now ?? 0, receivedAt: q.dataUpdatedAt }),
    [q.data, q.dataUpdatedAt],
  );
  const columns = useMemo<GridColDef<DeploymentSummary>[]>(
    () => [
      {
        field: 'id',
        headerName: 'ID',
        width: 95,
        renderCell: (p) => (
          <code title={p.row.id} data-testid="deployment-row-id">
            {p.row.id.slice(0, 8)}
          </code>
        ),
      },
      { field: 'name', headerName: 'Name', flex: 1, minWidth: 160 },
      { field: 'appId', headerName: 'App', width: 130 },
      { field: 'version', headerName: 'Version', width: 80 },
      {
        field: 'profileType',
        headerName: 'Profile',
        width: 130,
        valueGetter: (_v, row) => `${row.profileId} (${row.profileType})`,
      },
      {
        field: 'state',
        headerName: 'State',
        width: 100,
        renderCell: (p) => <DeploymentStateChip state={p.row.state} />,
      },
      { field: 'nodeCount', headerName: 'Nodes', width: 70, type: 'number' },
      {
        field: 'installed',
        headerName: 'Installed',
        width: 85,
        type: 'number',
        valueGetter: count('installed'),
        renderCell: (p) => <CountCell n={p.value as number} color="success" testId="count-installed" />,
      },
      {
        field: 'failed',
        headerName: 'Failed',
        width: 70,
        type: 'number',
        valueGetter: count('failed'),
        renderCell: (p) => <CountCell n={p.value as number} color="error" testId="count-failed" />,
      },
      {
        field: 'stale',
        headerName: 'Stale',
        width: 70,
        type: 'number',
        valueGetter: count('stale'),
        renderCell: (p) => <CountCell n={p.value as number} color="warning" testId="count-stale" />,
      },
      {
        field: 'updatedAt',
        headerName: 'Updated',
        width: 100,
        renderCell: (p) => <Age at={p.row.updatedAt} time={time} testId="deployment-row-updated" />,
      },
    ],
    [time],
  );
  return (
    <NowProvider>
      <Box>
        <PageHeader
          title="Deployments"
          text="Applications deployed to nodes: per-node state with the age of every report; a node not heard from lately is stale, never healthy."
          age={<FetchedAge updatedAt={q.dataUpdatedAt} />}
          actions={
            <Button
              variant="contained"
              startIcon={<AddIcon />}
              onClick={() => navigate(newDeploymentPath())}
              data-testid="new-deployment"
            >
              New deployment
            </Button>
          }
        />
        {q.error ? <ErrorAlert error={q.error} /> : null}
        <Box sx={{ height: 600 }}>
          <DataGrid
            rows={q.data?.deployments ?? []}
            columns={columns}
            getRowId={rowId}
            loading={q.isLoading}
            density="compact"
            disableRowSelectionOnClick
            onRowClick={(p) => navigate(deploymentPath(String(p.id)))}
            initialState={{
              pagination: { paginationModel: { pageSize: 100 } },
              sorting: { sortModel: [{ field: 'updatedAt', sort: 'desc' }] },
            }}
            pageSizeOptions={[25, 50, 100]}
            localeText={{ noRowsLabel: 'No deployments yet: start one with "New deployment".' }}
            sx={{ '& .MuiDataGrid-row': { cursor: 'pointer' } }}
            data-testid="deployments-grid"
            aria-label="Deployments"
          />
        </Box>
      </Box>
    </NowProvider>
  );
}
