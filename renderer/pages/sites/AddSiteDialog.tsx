import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  MenuItem,
  Stack,
  TextField,
} from '@mui/material';
import { api } from '../../api.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { parseLabelText } from '../../components/labels.js';

const EMPTY = {
  id: '',
  name: '',
  description: '',
  labels: '',
  servedBy: 'embedded' as 'embedded' | 'remote' | 'air-gapped',
};

export function AddSiteDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [f, setF] = useState(EMPTY);
  const add = useMutation({
    mutationFn: () => {
      const labels = parseLabelText(f.labels);
      return api.sites.add({
        id: f.id.trim(),
        ...(f.name.trim() ? { name: f.name.trim() } : {}),
        ...(f.description.trim() ? { description: f.description.trim() } : {}),
        ...(Object.keys(labels).length ? { labels } : {}),
        ...(f.servedBy === 'air-gapped'
          ? { servedBy: 'remote' as const, airGapped: true }
          : { servedBy: f.servedBy }),
      });
    },
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['sites'] });
      setF(EMPTY);
      onClose();
    },
  });
  const close = () => {
    setF(EMPTY);
    add.reset();
    onClose();
  };
  return (
    <Dialog
      open={open}
      onClose={() => !add.isPending && close()}
      fullWidth
      maxWidth="sm"
      data-testid="add-site-dialog"
    >
      <DialogTitle>Add site</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          <TextField
            label="Id"
            required
            helperText="lowercase letters, digits and dashes; used in paths and subjects"
            value={f.id}
            onChange={(e) => setF({ ...f, id: e.target.value })}
            slotProps={{ htmlInput: { 'data-testid': 'site-id' } }}
          />
          <TextField
            label="Name"
            value={f.name}
            onChange={(e) => setF({ ...f, name: e.target.value })}
            slotProps={{ htmlInput: { 'data-testid': 'site-name-input' } }}
          />
          <TextField
            label="Description"
            value={f.description}
            onChange={(e) => setF({ ...f, description: e.target.value })}
          />
          <TextField
            label="Labels"
            placeholder="region=eu, line=3"
            value={f.labels}
            onChange={(e) => setF({ ...f, labels: e.target.value })}
            slotProps={{ htmlInput: { 'data-testid': 'site-labels' } }}
          />
          <TextField
            select
            label="Served by"
            value={f.servedBy}
            onChange={(e) => setF({ ...f, servedBy: e.target.value as typeof EMPTY.servedBy })}
            slotProps={{ htmlInput: { 'data-testid': 'site-served-by-input' } }}
          >
            <MenuItem value="embedded">the embedded Local Orchestrator of this server</MenuItem>
            <MenuItem value="remote">a remote Local Orchestrator at the site</MenuItem>
            <MenuItem value="air-gapped">a remote LO reached only by bundles (air-gapped)</MenuItem>
          </TextField>
          {add.error ? <ProblemAlert error={add.error} /> : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={close} disabled={add.isPending}>
          Cancel
        </Button>
        <Button
          variant="contained"
          disabled={!f.id.trim() || add.isPending}
          onClick={() => add.mutate()}
          data-testid="add-site-submit"
        >
          Add
        </Button>
      </DialogActions>
    </Dialog>
  );
}
