import { Chip, Stack } from '@mui/material';
import type { DeploymentNode } from '../../../lib/contract/index.js';
import { nodeStateDisplay } from './node-state.js';

/** A node's state as a chip (green only when installed, current and fresh), with "stale" beside it. */
export function NodeStateChips({ node }: { node: DeploymentNode }) {
  const d = nodeStateDisplay(node);
  return (
    <Stack direction="row" spacing={0.5} sx={{ alignItems: 'center', height: '100%' }} title={d.hint}>
      <Chip
        size="small"
        label={d.label}
        color={d.color}
        variant={d.healthy || d.color === 'error' ? 'filled' : 'outlined'}
        data-testid="node-state"
        data-state={node.state}
        data-shown={d.label}
        data-healthy={String(d.healthy)}
      />
      {d.stale ? (
        <Chip
          size="small"
          color="warning"
          label="stale"
          data-testid="node-stale"
          title={`the node is ${node.presence}: its state may be out of date`}
        />
      ) : null}
    </Stack>
  );
}

const DEPLOYMENT_COLORS = { active: 'primary', removing: 'warning', removed: 'default' } as const;

export function DeploymentStateChip({ state }: { state: 'active' | 'removing' | 'removed' }) {
  return (
    <Chip
      size="small"
      label={state}
      color={DEPLOYMENT_COLORS[state]}
      variant="outlined"
      data-testid="deployment-state"
      data-state={state}
    />
  );
}
