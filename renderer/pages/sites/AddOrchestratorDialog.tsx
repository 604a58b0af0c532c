import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Button, Dialog, DialogActions, DialogContent, DialogTitle, Stack, TextField } from '@mui/material';
import type { Site } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';

/** Registers the remote Local Orchestrator that serves a site. */
export function AddOrchestratorDialog({ site, onClose }: { site: Site | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [f, setF] = useState({ id: '', name: '', mmiUrl: '', caFingerprint: '' });
  const add = useMutation({
    mutationFn: () =>
      api.sites.addOrchestrator({
        id: f.id.trim(),
        siteId: site!.id,
        ...(f.name.trim() ? { name: f.name.trim() } : {}),
        ...(f.mmiUrl.trim() ? { mmiUrl: f.mmiUrl.trim() } : {}),
        ...(f.caFingerprint.trim() ? { caFingerprint: f.caFingerprint.trim() } : {}),
      }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['sites'] });
      close();
    },
  });
  const close = () => {
    setF({ id: '', name: '', mmiUrl: '', caFingerprint: '' });
    add.reset();
    onClose();
  };
  return (
    <Dialog open={site !== null} onClose={() => !add.isPending && close()} fullWidth maxWidth="sm">
      <DialogTitle>Register the Local Orchestrator of {site?.name}</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          <TextField label="Id" required value={f.id} onChange={(e) => setF({ ...f, id: e.target.value })} />
          <TextField label="Name" value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} />
          <TextField
            label="Management interface URL"
            placeholder="https://lo.plant-a.example:8443"
            value={f.mmiUrl}
            onChange={(e) => setF({ ...f, mmiUrl: e.target.value })}
          />
          <TextField
            label="Site CA fingerprint"
            placeholder="sha256:…"
            value={f.caFingerprint}
            onChange={(e) => setF({ ...f, caFingerprint: e.target.value })}
          />
          {add.error ? <ProblemAlert error={add.error} /> : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={close} disabled={add.isPending}>
          Cancel
        </Button>
        <Button variant="contained" disabled={!f.id.trim() || add.isPending} onClick={() => add.mutate()}>
          Register
        </Button>
      </DialogActions>
    </Dialog>
  );
}
