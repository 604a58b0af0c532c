import type { ReactNode } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Box, Button, Card, CardContent, Chip, Stack, Tooltip, Typography } from '@mui/material';
import PauseIcon from '@mui/icons-material/Pause';
import PlayArrowIcon from '@mui/icons-material/PlayArrow';
import UpgradeIcon from '@mui/icons-material/Upgrade';
import ReplayIcon from '@mui/icons-material/Replay';
import type { DeploymentView } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';

type Rollout = NonNullable<DeploymentView['rollout']>;

const TERMINAL = ['complete', 'failed', 'rolled-back'];

/** Which rollout controls apply now (the server refuses the others with `conflict`). */
export function rolloutControls(r: Rollout, deploymentState: DeploymentView['state']) {
  const open = deploymentState === 'active' && !TERMINAL.includes(r.phase);
  return {
    pause: open && !r.paused,
    resume: open && r.paused,
    promote: open && (r.phase === 'canary' || r.phase === 'canary-hold'),
    // A rollout a failure stopped, once no node reports the failure (the server checks again).
    retry: deploymentState === 'active' && r.retryable === true,
  };
}

const PHASE_COLORS: Record<string, 'success' | 'error' | 'warning' | 'info' | 'default'> = {
  complete: 'success',
  failed: 'error',
  'rolled-back': 'error',
  'rolling-back': 'warning',
  canary: 'info',
  'canary-hold': 'info',
  rolling: 'info',
};

const SEGMENTS = [
  { key: 'installed', label: 'installed', color: 'success.main' },
  { key: 'inProgress', label: 'in progress', color: 'info.main' },
  { key: 'failed', label: 'failed', color: 'error.main' },
  { key: 'notStarted', label: 'not started', color: 'grey.400' },
] as const;

/** One bar, four parts: installed, in progress, failed, not started (of the rollout's targets). */
export function ProgressBar({ progress }: { progress: Rollout['progress'] }) {
  const total = Math.max(1, progress.total);
  return (
    <Box>
      <Box
        sx={{ display: 'flex', height: 12, borderRadius: 1, overflow: 'hidden', bgcolor: 'grey.200' }}
        role="img"
        aria-label={SEGMENTS.map((s) => `${progress[s.key]} ${s.label}`).join(', ')}
        data-testid="rollout-bar"
      >
        {SEGMENTS.map((s) =>
          progress[s.key] > 0 ? (
            <Box
              key={s.key}
              sx={{ width: `${(100 * progress[s.key]) / total}%`, bgcolor: s.color }}
              title={`${progress[s.key]} ${s.label}`}
            />
          ) : null,
        )}
      </Box>
      <Stack direction="row" spacing={2} sx={{ mt: 0.5, flexWrap: 'wrap' }}>
        {SEGMENTS.map((s) => (
          <Stack key={s.key} direction="row" spacing={0.5} sx={{ alignItems: 'center' }}>
            <Box sx={{ width: 10, height: 10, borderRadius: '2px', bgcolor: s.color }} />
            <Typography variant="caption" data-testid={`rollout-${s.key}`} data-value={progress[s.key]}>
              {progress[s.key]} {s.label}
            </Typography>
          </Stack>
        ))}
        <Typography variant="caption" color="text.secondary" data-testid="rollout-total">
          of {progress.total}
        </Typography>
      </Stack>
    </Box>
  );
}

/** The rollout of a deployment: phase, what it waits for, progress, and pause / resume / promote. */
export function RolloutPanel({ deployment }: { deployment: DeploymentView }) {
  const qc = useQueryClient();
  const r = deployment.rollout!;
  const can = rolloutControls(r, deployment.state);
  const signal = useMutation({
    mutationFn: (what: 'pause' | 'resume' | 'promote' | 'retry') =>
      api.deployments[what]({ id: deployment.id }),
    onSuccess: (view) => {
      qc.setQueryData(['deployments', 'get', deployment.id], view);
      void qc.invalidateQueries({ queryKey: ['deployments'] });
    },
  });
  const strategy = String(r.strategy.kind ?? 'all-at-once');
  const button = (
    what: 'pause' | 'resume' | 'promote' | 'retry',
    label: string,
    icon: ReactNode,
    why: string,
  ) => (
    <Tooltip title={can[what] ? '' : why}>
      <span>
        <Button
          size="small"
          variant={what === 'promote' || what === 'retry' ? 'contained' : 'outlined'}
          startIcon={icon}
          disabled={!can[what] || signal.isPending}
          onClick={() => signal.mutate(what)}
          data-testid={`rollout-${what}`}
        >
          {label}
        </Button>
      </span>
    </Tooltip>
  );
  return (
    <Card variant="outlined" data-testid="rollout-panel" data-phase={r.phase} data-paused={String(r.paused)}>
      <CardContent>
        <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mb: 1, flexWrap: 'wrap', rowGap: 1 }}>
          <Typography variant="h6">Rollout</Typography>
          <Chip
            size="small"
            label={r.phase}
            color={PHASE_COLORS[r.phase] ?? 'default'}
            data-testid="rollout-phase"
          />
          {r.paused ? (
            <Chip size="small" color="warning" label="paused" data-testid="rollout-paused" />
          ) : null}
          {r.waitingFor ? (
            <Chip
              size="small"
              variant="outlined"
              color="info"
              label={`waiting for ${r.waitingFor}`}
              data-testid="rollout-waiting"
              data-value={r.waitingFor}
            />
          ) : null}
          <Chip size="small" variant="outlined" label={strategy} />
          {r.installTimeoutSeconds ? (
            <Chip
              size="small"
              variant="outlined"
              label={`install timeout ${r.installTimeoutSeconds}s`}
              data-testid="rollout-install-timeout"
            />
          ) : null}
          <Box sx={{ flexGrow: 1 }} />
          {button('pause', 'Pause', <PauseIcon />, r.paused ? 'already paused' : 'the rollout is over')}
          {button('resume', 'Resume', <PlayArrowIcon />, 'the rollout is not paused')}
          {button('promote', 'Promote', <UpgradeIcon />, 'only a canary waiting to be promoted')}
          {r.phase === 'failed' || r.phase === 'rolled-back'
            ? button(
                'retry',
                'Retry',
                <ReplayIcon />,
                'a node still reports the failure: repair it first (or update or remove the deployment)',
              )
            : null}
        </Stack>
        <Typography variant="body2" data-testid="rollout-message">
          {r.message}
        </Typography>
        <Box sx={{ mt: 1.5 }}>
          <ProgressBar progress={r.progress} />
        </Box>
        {signal.error ? (
          <Box sx={{ mt: 1 }}>
            <ProblemAlert error={signal.error} />
          </Box>
        ) : null}
      </CardContent>
    </Card>
  );
}
