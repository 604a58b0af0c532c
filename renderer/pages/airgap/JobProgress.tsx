import { useQuery } from '@tanstack/react-query';
import { Box, LinearProgress, Stack, Typography } from '@mui/material';
import { formatBytes, formatSeconds, type BundleJob } from '../../../lib/contract/index.js';
import { GatedButton } from '../../components/RoleGate.js';
import { api } from '../../api.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { OutpostError } from '../../../lib/errors/index.js';

/** A job as the server announces it (the `job` event), read once more while it runs in case an event is missed. */
export function useJob(id: string | null) {
  return useQuery({
    queryKey: ['bundle-jobs', id],
    queryFn: () => api.bundle.job({ id: id! }),
    enabled: id !== null,
    refetchInterval: (q) => ((q.state.data as BundleJob | undefined)?.state === 'running' ? 2000 : false),
  });
}

/** Phase, a bar (bytes of the total when known), rate and time left; Cancel while it can be cancelled. */
export function JobProgress({ job, testId = 'job' }: { job: BundleJob; testId?: string }) {
  const pct = job.totalBytes ? Math.min(100, (job.bytes / job.totalBytes) * 100) : undefined;
  const running = job.state === 'running';
  return (
    <Box data-testid={testId} data-state={job.state} data-phase={job.phase}>
      <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
        <Typography variant="body2" sx={{ minWidth: 200 }}>
          {job.label}: {running ? job.phase : job.state}
        </Typography>
        <Box sx={{ flexGrow: 1 }}>
          {running ? (
            <LinearProgress variant={pct === undefined ? 'indeterminate' : 'determinate'} value={pct ?? 0} />
          ) : null}
        </Box>
        <Typography variant="caption" color="text.secondary" sx={{ minWidth: 220, textAlign: 'right' }}>
          {running
            ? `${formatBytes(job.bytes)}${job.totalBytes ? ` of ${formatBytes(job.totalBytes)}` : ''}${job.rate ? ` · ${formatBytes(job.rate)}/s` : ''}${job.etaSeconds !== null ? ` · ${formatSeconds(job.etaSeconds)} left` : ''}`
            : job.result
              ? `${job.result.size !== null ? formatBytes(job.result.size) : ''} in ${formatSeconds(job.result.seconds)}${job.result.throughput ? ` · ${formatBytes(job.result.throughput)}/s` : ''}`
              : ''}
        </Typography>
        {running ? (
          <GatedButton
            channel="bundle.cancelJob"
            size="small"
            onClick={() => void api.bundle.cancelJob({ id: job.id }).catch(() => undefined)}
          >
            Cancel
          </GatedButton>
        ) : null}
      </Stack>
      {job.error ? (
        <Box sx={{ mt: 1 }}>
          <ErrorAlert error={new OutpostError(job.error.code, job.error.message)} />
        </Box>
      ) : null}
    </Box>
  );
}
