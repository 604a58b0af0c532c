import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import {
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControlLabel,
  LinearProgress,
  Stack,
  Switch,
  Typography,
} from '@mui/material';
import { api } from '../../api.js';
import { formatTime } from '../../format.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';

export const workloadLogsKey = (deploymentId: string, node: string) =>
  ['nodes', 'workload-logs', node, deploymentId] as const;

/** How often "Follow" asks the node again. */
const FOLLOW_MS = 2000;

/**
 * The output of a deployment's workloads on one node, asked of the node's agent through the LO
 * (`nodes.workloadLogs`): the last lines of each component; "Follow" asks again every two seconds. A node
 * that is not connected says so (`node/unreachable`).
 */
export function WorkloadLogsDialog({
  deploymentId,
  node,
  onClose,
}: {
  deploymentId: string;
  node: string;
  onClose: () => void;
}) {
  const [follow, setFollow] = useState(false);
  const q = useQuery({
    queryKey: workloadLogsKey(deploymentId, node),
    queryFn: () => api.nodes.workloadLogs({ name: node, deploymentId, tail: 200 }),
    refetchInterval: follow ? FOLLOW_MS : false,
    retry: false,
  });
  const many = (q.data?.components.length ?? 0) > 1;
  return (
    <Dialog open onClose={onClose} maxWidth="lg" fullWidth data-testid="workload-logs">
      <DialogTitle>
        Logs on {node}
        {q.data ? (
          <Typography variant="caption" color="text.secondary" sx={{ ml: 2 }}>
            read by the node at {formatTime(q.data.at)}
          </Typography>
        ) : null}
      </DialogTitle>
      <DialogContent dividers>
        {q.isFetching ? <LinearProgress sx={{ mb: 1 }} /> : <Box sx={{ height: 4, mb: 1 }} />}
        {q.error ? <ErrorAlert error={q.error} /> : null}
        {q.data?.components.length === 0 ? (
          <Typography color="text.secondary">The node runs no workload of this deployment.</Typography>
        ) : null}
        <Stack spacing={2}>
          {q.data?.components.map((c) => (
            <Box key={c.component} data-testid="workload-log" data-component={c.component}>
              {many || c.note ? (
                <Typography variant="subtitle2">
                  <code>{c.component}</code> ({c.kind}){c.note ? ` · ${c.note}` : ''}
                </Typography>
              ) : null}
              {c.lines.length > 0 ? (
                <Box
                  component="pre"
                  sx={{
                    m: 0,
                    p: 1,
                    maxHeight: 480,
                    overflow: 'auto',
                    bgcolor: 'grey.900',
                    color: 'grey.100',
                    fontSize: 12,
                    whiteSpace: 'pre-wrap',
                    wordBreak: 'break-all',
                  }}
                  data-testid="workload-log-lines"
                >
                  {c.truncated ? '…\n' : ''}
                  {c.lines.join('\n')}
                </Box>
              ) : c.note ? null : (
                <Typography color="text.secondary">no output yet</Typography>
              )}
            </Box>
          ))}
        </Stack>
      </DialogContent>
      <DialogActions>
        <FormControlLabel
          control={<Switch checked={follow} onChange={(e) => setFollow(e.target.checked)} />}
          label="Follow"
          data-testid="workload-logs-follow"
        />
        <Button onClick={() => void q.refetch()}>Refresh</Button>
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}
