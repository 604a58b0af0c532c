import { useMemo, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Chip,
  Link,
  Skeleton,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableRow,
  Tooltip,
  Typography,
} from '@mui/material';
import ArrowBackIcon from '@mui/icons-material/ArrowBack';
import DeleteIcon from '@mui/icons-material/Delete';
import EditIcon from '@mui/icons-material/Edit';
import type { DeploymentView } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { navigate } from '../../router.js';
import { formatTime } from '../../format.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { Age, NowProvider } from './now.js';
import { DeploymentStateChip } from './StateChip.js';
import { DeploymentNodesGrid } from './DeploymentNodesGrid.js';
import { RolloutPanel } from './RolloutPanel.js';
import { UpdateDeploymentDialog } from './UpdateDeploymentDialog.js';
import { useAdaptiveInterval, useRefetchOn } from './use-refetch-on.js';
import { useCan } from '../../session.js';

export const deploymentKey = (id: string) => ['deployments', 'get', id] as const;

/** `site plant-1, tier=gold, 2 replicas` or `nodes edge-1, edge-2`. */
export function targetText(t: Record<string, unknown>): string {
  const parts: string[] = [];
  if (Array.isArray(t.nodes)) parts.push(`nodes ${(t.nodes as string[]).join(', ')}`);
  if (typeof t.siteId === 'string') parts.push(`site ${t.siteId}`);
  if (t.selector && typeof t.selector === 'object')
    parts.push(
      Object.entries(t.selector as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    );
  if (t.replicas !== undefined)
    parts.push(t.replicas === 'all' ? 'every eligible node' : `${String(t.replicas)} replicas`);
  return parts.join(' · ');
}

function valueText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A deployment: what runs where, the rollout, and every node's state with the age of its report. */
export function DeploymentDetail({ id }: { id: string }) {
  const qc = useQueryClient();
  const key = deploymentKey(id);
  const [dialog, setDialog] = useState<'update' | 'remove' | null>(null);
  const refresh = useAdaptiveInterval();
  const q = useQuery({
    queryKey: key,
    queryFn: () => refresh.timed(() => api.deployments.get({ id })),
    // Presence changes arrive as `nodes` events (below); this also catches a node going quiet.
    refetchInterval: refresh.interval,
  });
  useRefetchOn('nodes', key);
  const back = (
    <Button
      startIcon={<ArrowBackIcon />}
      onClick={() => navigate('/deployments')}
      sx={{ mb: 1 }}
      data-testid="back-to-deployments"
    >
      Deployments
    </Button>
  );
  const d = q.data;
  if (!d)
    return (
      <Box>
        {back}
        {q.error ? <ErrorAlert error={q.error} /> : <Skeleton variant="rectangular" height={240} />}
      </Box>
    );
  return (
    <NowProvider>
      <Box data-testid="deployment-detail" data-id={d.id} data-state={d.state}>
        {back}
        {q.error ? <ErrorAlert error={q.error} /> : null}
        <Header
          d={d}
          receivedAt={q.dataUpdatedAt}
          onUpdate={() => setDialog('update')}
          onRemove={() => setDialog('remove')}
        />
        <Stack spacing={2}>
          {d.rollout ? <RolloutPanel deployment={d} /> : null}
          <Card variant="outlined">
            <CardContent>
              <Stack direction="row" spacing={2} sx={{ alignItems: 'baseline', mb: 1 }}>
                <Typography variant="h6">Nodes</Typography>
                <Counts counts={d.counts} total={d.nodeCount} />
              </Stack>
              <DeploymentNodesGrid
                deploymentId={d.id}
                nodes={d.nodes}
                serverNow={d.now}
                receivedAt={q.dataUpdatedAt}
              />
            </CardContent>
          </Card>
        </Stack>
        {dialog === 'update' ? (
          <UpdateDeploymentDialog deployment={d} onClose={() => setDialog(null)} />
        ) : null}
        <ConfirmDialog
          open={dialog === 'remove'}
          title={`Remove deployment ${d.name}?`}
          onClose={() => setDialog(null)}
          onConfirm={async () => {
            const view = await api.deployments.remove({ id: d.id });
            qc.setQueryData(key, view);
            await qc.invalidateQueries({ queryKey: ['deployments'] });
          }}
        >
          {d.appId} {d.version} leaves its {d.nodeCount} node{d.nodeCount === 1 ? '' : 's'}: each reports
          removing, then removed. The deployment stays listed until every node has reported.
        </ConfirmDialog>
      </Box>
    </NowProvider>
  );
}

function Counts({ counts, total }: { counts: Record<string, number>; total: number }) {
  const shown = Object.entries(counts).filter(([, n]) => n > 0);
  return (
    <Stack direction="row" spacing={0.5} sx={{ flexWrap: 'wrap' }} data-testid="node-counts">
      <Typography variant="body2" color="text.secondary" sx={{ mr: 1 }}>
        {total} node{total === 1 ? '' : 's'}
      </Typography>
      {shown.map(([k, n]) => (
        <Chip
          key={k}
          size="small"
          variant="outlined"
          color={
            k === 'installed' ? 'success' : k === 'failed' ? 'error' : k === 'stale' ? 'warning' : 'default'
          }
          label={`${n} ${k}`}
          data-testid="count"
          data-state={k}
          data-value={n}
        />
      ))}
    </Stack>
  );
}

function Header({
  d,
  receivedAt,
  onUpdate,
  onRemove,
}: {
  d: DeploymentView;
  receivedAt: number;
  onUpdate: () => void;
  onRemove: () => void;
}) {
  const time = useMemo(() => ({ serverNow: d.now, receivedAt }), [d.now, receivedAt]);
  // What the signed-in roles may not do is disabled, with the server's reason as the tooltip.
  const mayUpdate = useCan('deployments.update');
  const mayRemove = useCan('deployments.remove');
  const params = Object.entries(d.parameters);
  return (
    <Card variant="outlined" sx={{ mb: 2 }}>
      <CardContent>
        <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start' }}>
          <Box sx={{ flexGrow: 1, minWidth: 0 }}>
            <Stack direction="row" spacing={1} sx={{ alignItems: 'center', flexWrap: 'wrap' }}>
              <Typography variant="h5" component="h1" data-testid="deployment-name">
                {d.name}
              </Typography>
              <DeploymentStateChip state={d.state} />
            </Stack>
            <Typography variant="body2" color="text.secondary" sx={{ mt: 0.5 }}>
              <code data-testid="deployment-id">{d.id}</code> · updated{' '}
              <Age at={d.updatedAt} time={time} testId="deployment-updated" />
            </Typography>
          </Box>
          <Tooltip title={mayUpdate.reason}>
            <span>
              <Button
                variant="outlined"
                startIcon={<EditIcon />}
                onClick={onUpdate}
                disabled={d.state !== 'active' || !mayUpdate.allowed}
                data-testid="update-deployment"
              >
                Update
              </Button>
            </span>
          </Tooltip>
          <Tooltip title={mayRemove.reason}>
            <span>
              <Button
                color="error"
                variant="outlined"
                startIcon={<DeleteIcon />}
                onClick={onRemove}
                disabled={d.state !== 'active' || !mayRemove.allowed}
                data-testid="remove-deployment"
              >
                Remove
              </Button>
            </span>
          </Tooltip>
        </Stack>
        {d.state === 'removing' ? (
          <Alert severity="info" sx={{ mt: 1 }}>
            Being removed: waiting for every node to report removed.
          </Alert>
        ) : null}
        <Table size="small" sx={{ mt: 1, '& td:first-of-type': { width: 140, color: 'text.secondary' } }}>
          <TableBody>
            <TableRow>
              <TableCell>Application</TableCell>
              <TableCell>
                <Link
                  component="button"
                  onClick={() =>
                    navigate(`/apps/${encodeURIComponent(d.appId)}/${encodeURIComponent(d.version)}`)
                  }
                  data-testid="deployment-app"
                >
                  {d.appId}
                </Link>{' '}
                <Chip
                  size="small"
                  label={d.version}
                  data-testid="deployment-version"
                  data-value={d.version}
                />
                <Typography component="span" variant="body2" color="text.secondary">
                  {' '}
                  revision {d.generation}
                </Typography>
              </TableCell>
            </TableRow>
            <TableRow>
              <TableCell>Profile</TableCell>
              <TableCell>
                {d.profileId} <Chip size="small" variant="outlined" color="secondary" label={d.profileType} />
              </TableCell>
            </TableRow>
            <TableRow>
              <TableCell>Target</TableCell>
              <TableCell data-testid="deployment-target">{targetText(d.target)}</TableCell>
            </TableRow>
            <TableRow>
              <TableCell>Parameters</TableCell>
              <TableCell data-testid="deployment-parameters">
                {params.length === 0
                  ? 'defaults'
                  : params.map(([k, v]) => (
                      <Chip
                        key={k}
                        size="small"
                        variant="outlined"
                        label={`${k}=${valueText(v)}`}
                        sx={{ mr: 0.5, mb: 0.5 }}
                        data-testid="deployment-parameter"
                        data-name={k}
                        data-value={JSON.stringify(v)}
                      />
                    ))}
              </TableCell>
            </TableRow>
            <TableRow>
              <TableCell>Commit</TableCell>
              <TableCell>
                {d.commit ? (
                  <code title={d.commit} data-testid="deployment-commit">
                    {d.commit.slice(0, 12)}
                  </code>
                ) : (
                  <Typography component="span" variant="body2" color="text.secondary">
                    not committed yet
                  </Typography>
                )}
              </TableCell>
            </TableRow>
            <TableRow>
              <TableCell>Created</TableCell>
              <TableCell>
                {formatTime(d.createdAt)} by <code>{d.createdBy}</code> (
                <Age at={d.createdAt} time={time} />)
              </TableCell>
            </TableRow>
          </TableBody>
        </Table>
      </CardContent>
    </Card>
  );
}
