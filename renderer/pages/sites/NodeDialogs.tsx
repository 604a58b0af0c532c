import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  IconButton,
  MenuItem,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import AddIcon from '@mui/icons-material/Add';
import DeleteIcon from '@mui/icons-material/Delete';
import type { DeviceModel, Node, Site } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { parseLabelText } from '../../components/labels.js';

/** Edits a node's operator labels as key/value rows; sends what was set and what was removed. */
export function EditLabelsDialog({ node, onClose }: { node: Node; onClose: () => void }) {
  const qc = useQueryClient();
  const [rows, setRows] = useState(() => Object.entries(node.labels).map(([k, v]) => ({ k, v })));
  const save = useMutation({
    mutationFn: () => {
      const set: Record<string, string> = {};
      for (const r of rows) if (r.k.trim()) set[r.k.trim()] = r.v;
      const remove = Object.keys(node.labels).filter((k) => !(k in set));
      return api.nodes.label({ name: node.name, set, remove });
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['nodes'] });
      onClose();
    },
  });
  return (
    <Dialog
      open
      onClose={() => !save.isPending && onClose()}
      fullWidth
      maxWidth="sm"
      data-testid="labels-dialog"
    >
      <DialogTitle>Labels of {node.name}</DialogTitle>
      <DialogContent>
        <Stack spacing={1} sx={{ mt: 1 }}>
          {rows.map((r, i) => (
            <Stack key={i} direction="row" spacing={1} sx={{ alignItems: 'center' }}>
              <TextField
                size="small"
                label="Key"
                value={r.k}
                onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, k: e.target.value } : x)))}
                slotProps={{ htmlInput: { 'data-testid': 'label-key' } }}
                sx={{ flex: 1 }}
              />
              <TextField
                size="small"
                label="Value"
                value={r.v}
                onChange={(e) => setRows(rows.map((x, j) => (j === i ? { ...x, v: e.target.value } : x)))}
                slotProps={{ htmlInput: { 'data-testid': 'label-value' } }}
                sx={{ flex: 1 }}
              />
              <IconButton aria-label="remove label" onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                <DeleteIcon />
              </IconButton>
            </Stack>
          ))}
          <Button
            startIcon={<AddIcon />}
            onClick={() => setRows([...rows, { k: '', v: '' }])}
            sx={{ alignSelf: 'flex-start' }}
            data-testid="add-label"
          >
            Add label
          </Button>
          {Object.keys(node.reportedLabels).length ? (
            <Typography variant="caption" color="text.secondary">
              The node also reports {Object.keys(node.reportedLabels).join(', ')}; a label set here takes
              precedence.
            </Typography>
          ) : null}
          {save.error ? <ProblemAlert error={save.error} /> : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={save.isPending}>
          Cancel
        </Button>
        <Button
          variant="contained"
          onClick={() => save.mutate()}
          disabled={save.isPending}
          data-testid="save-labels"
        >
          Save
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** Links a node to a Device Store model (or unlinks it). */
export function SetModelDialog({
  node,
  models,
  onClose,
}: {
  node: Node;
  models: DeviceModel[];
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const [modelId, setModelId] = useState(node.modelId ?? '');
  const save = useMutation({
    mutationFn: () => api.nodes.setModel({ name: node.name, modelId: modelId || null }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['nodes'] });
      void qc.invalidateQueries({ queryKey: ['device-models'] });
      onClose();
    },
  });
  return (
    <Dialog
      open
      onClose={() => !save.isPending && onClose()}
      fullWidth
      maxWidth="xs"
      data-testid="model-dialog"
    >
      <DialogTitle>Device model of {node.name}</DialogTitle>
      <DialogContent>
        <TextField
          select
          fullWidth
          label="Model"
          value={modelId}
          onChange={(e) => setModelId(e.target.value)}
          sx={{ mt: 1 }}
          slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'model-select' } as object } }}
        >
          <MenuItem value="">
            <em>none</em>
          </MenuItem>
          {models.map((m) => (
            <MenuItem key={m.id} value={m.id}>
              {m.name} ({m.vendor} {m.modelNumber})
            </MenuItem>
          ))}
        </TextField>
        {save.error ? <ProblemAlert error={save.error} /> : null}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={save.isPending}>
          Cancel
        </Button>
        <Button
          variant="contained"
          onClick={() => save.mutate()}
          disabled={save.isPending}
          data-testid="save-model"
        >
          Save
        </Button>
      </DialogActions>
    </Dialog>
  );
}

/** Registers a node (host) at a site before it enrolls. */
export function AddNodeDialog({
  sites,
  models,
  defaultSite,
  onClose,
}: {
  sites: Site[];
  models: DeviceModel[];
  defaultSite: string;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const [f, setF] = useState(() => ({
    name: '',
    siteId: defaultSite || (sites[0]?.id ?? ''),
    modelId: '',
    labels: '',
  }));
  const add = useMutation({
    mutationFn: () => {
      const labels = parseLabelText(f.labels);
      return api.nodes.add({
        name: f.name.trim(),
        siteId: f.siteId,
        ...(f.modelId ? { modelId: f.modelId } : {}),
        ...(Object.keys(labels).length ? { labels } : {}),
      });
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['nodes'] });
      void qc.invalidateQueries({ queryKey: ['sites'] });
      void qc.invalidateQueries({ queryKey: ['device-models'] });
      onClose();
    },
  });
  return (
    <Dialog
      open
      onClose={() => !add.isPending && onClose()}
      fullWidth
      maxWidth="sm"
      data-testid="add-node-dialog"
    >
      <DialogTitle>Add node</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          <TextField
            label="Name"
            required
            helperText="the host name; it enrolls under this name"
            value={f.name}
            onChange={(e) => setF({ ...f, name: e.target.value })}
            slotProps={{ htmlInput: { 'data-testid': 'node-name' } }}
          />
          <TextField
            select
            label="Site"
            value={f.siteId}
            onChange={(e) => setF({ ...f, siteId: e.target.value })}
          >
            {sites.map((s) => (
              <MenuItem key={s.id} value={s.id}>
                {s.name} ({s.id})
              </MenuItem>
            ))}
          </TextField>
          <TextField
            select
            label="Device model"
            value={f.modelId}
            onChange={(e) => setF({ ...f, modelId: e.target.value })}
          >
            <MenuItem value="">
              <em>none</em>
            </MenuItem>
            {models.map((m) => (
              <MenuItem key={m.id} value={m.id}>
                {m.name}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            label="Labels"
            placeholder="line=3, gpu=true"
            value={f.labels}
            onChange={(e) => setF({ ...f, labels: e.target.value })}
          />
          {add.error ? <ProblemAlert error={add.error} /> : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={add.isPending}>
          Cancel
        </Button>
        <Button
          variant="contained"
          disabled={!f.name.trim() || !f.siteId || add.isPending}
          onClick={() => add.mutate()}
          data-testid="add-node-submit"
        >
          Add
        </Button>
      </DialogActions>
    </Dialog>
  );
}
