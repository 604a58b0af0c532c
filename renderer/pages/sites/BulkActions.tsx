import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  MenuItem,
  Paper,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import type { BulkNodeAction, DeviceModel } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { GatedButton } from '../../components/RoleGate.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { parseLabelText } from '../../components/labels.js';

/**
 * One action on every selected node (nodes.bulk: all or nothing, one audit entry) instead of one
 * dialog per node: labels, cordon, uncordon, device model.
 */
export function BulkActions({
  names,
  models,
  onDone,
}: {
  names: string[];
  models: DeviceModel[];
  onDone: () => void;
}) {
  const qc = useQueryClient();
  const [dialog, setDialog] = useState<'label' | 'model' | null>(null);
  const [labels, setLabels] = useState('');
  const [remove, setRemove] = useState('');
  const [model, setModel] = useState('');
  const run = useMutation({
    mutationFn: (action: BulkNodeAction) => api.nodes.bulk({ names, action }),
    onSuccess: () => {
      // The grid catches up on its own; the bar closes at once.
      void qc.invalidateQueries({ queryKey: ['nodes'] });
      setDialog(null);
      onDone();
    },
  });
  const n = names.length;
  const close = () => {
    setDialog(null);
    run.reset();
  };
  return (
    <>
      <Paper
        variant="outlined"
        sx={{ p: 1, mb: 1, display: 'flex', alignItems: 'center', gap: 1, flexWrap: 'wrap' }}
        data-testid="bulk-actions"
        role="region"
        aria-label="actions on the selected nodes"
      >
        <Typography variant="body2" sx={{ mr: 1 }} data-testid="bulk-count">
          {n} node{n === 1 ? '' : 's'} selected
        </Typography>
        <GatedButton
          channel="nodes.bulk"
          size="small"
          variant="outlined"
          onClick={() => setDialog('label')}
          data-testid="bulk-label"
        >
          Label…
        </GatedButton>
        <GatedButton
          channel="nodes.bulk"
          size="small"
          variant="outlined"
          onClick={() => run.mutate({ kind: 'cordon' })}
          disabled={run.isPending}
          data-testid="bulk-cordon"
        >
          Cordon
        </GatedButton>
        <GatedButton
          channel="nodes.bulk"
          size="small"
          variant="outlined"
          onClick={() => run.mutate({ kind: 'uncordon' })}
          disabled={run.isPending}
          data-testid="bulk-uncordon"
        >
          Uncordon
        </GatedButton>
        <GatedButton
          channel="nodes.bulk"
          size="small"
          variant="outlined"
          onClick={() => setDialog('model')}
          data-testid="bulk-model"
        >
          Set model…
        </GatedButton>
        <Button size="small" onClick={onDone} data-testid="bulk-clear">
          Clear selection
        </Button>
        {run.error && dialog === null ? <ProblemAlert error={run.error} /> : null}
      </Paper>
      <Dialog open={dialog === 'label'} onClose={close} fullWidth maxWidth="sm">
        <DialogTitle>
          Label {n} node{n === 1 ? '' : 's'}
        </DialogTitle>
        <DialogContent>
          <DialogContentText sx={{ mb: 2 }}>
            Labels to set (key=value, separated by commas) and keys to remove, on every selected node.
          </DialogContentText>
          <Stack spacing={2}>
            <TextField
              label="Set"
              placeholder="zone=north, rack=r4"
              value={labels}
              onChange={(e) => setLabels(e.target.value)}
              slotProps={{ htmlInput: { 'data-testid': 'bulk-label-set' } }}
            />
            <TextField
              label="Remove keys"
              placeholder="old-key, other"
              value={remove}
              onChange={(e) => setRemove(e.target.value)}
              slotProps={{ htmlInput: { 'data-testid': 'bulk-label-remove' } }}
            />
          </Stack>
          {run.error ? <ProblemAlert error={run.error} /> : null}
        </DialogContent>
        <DialogActions>
          <Button onClick={close}>Cancel</Button>
          <GatedButton
            channel="nodes.bulk"
            variant="contained"
            disabled={run.isPending || (!labels.trim() && !remove.trim())}
            data-testid="bulk-label-apply"
            onClick={() =>
              run.mutate({
                kind: 'label',
                set: parseLabelText(labels),
                remove: Object.keys(parseLabelText(remove)),
              })
            }
          >
            Apply to {n}
          </GatedButton>
        </DialogActions>
      </Dialog>
      <Dialog open={dialog === 'model'} onClose={close} fullWidth maxWidth="xs">
        <DialogTitle>
          Device model of {n} node{n === 1 ? '' : 's'}
        </DialogTitle>
        <DialogContent>
          <TextField
            select
            fullWidth
            label="Device model"
            value={model}
            onChange={(e) => setModel(e.target.value)}
            sx={{ mt: 1 }}
            slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'bulk-model-select' } as object } }}
          >
            <MenuItem value="">none</MenuItem>
            {models.map((m) => (
              <MenuItem key={m.id} value={m.id}>
                {m.name}
              </MenuItem>
            ))}
          </TextField>
          {run.error ? <ProblemAlert error={run.error} /> : null}
        </DialogContent>
        <DialogActions>
          <Button onClick={close}>Cancel</Button>
          <GatedButton
            channel="nodes.bulk"
            variant="contained"
            disabled={run.isPending}
            data-testid="bulk-model-apply"
            onClick={() => run.mutate({ kind: 'setModel', modelId: model || null })}
          >
            Apply to {n}
          </GatedButton>
        </DialogActions>
      </Dialog>
    </>
  );
}
