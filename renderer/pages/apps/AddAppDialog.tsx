import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Stack,
  Tab,
  Tabs,
  TextField,
  Typography,
} from '@mui/material';
import type { AppSource } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { navigate } from '../../router.js';
import { FileField, ResourceFilesField } from '../../components/FileField.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { readText, resourcesOf, type PickedResource } from '../../components/files.js';
import { appPath } from './routes.js';

/**
 * Registers an application version from a margo.yaml (uploaded with the files it references, such as
 * its icon) or from a git repository the server fetches. The server validates; its field problems are
 * shown with their line and column.
 */
export function AddAppDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [tab, setTab] = useState<'upload' | 'git'>('upload');
  const [file, setFile] = useState<File | null>(null);
  const [resources, setResources] = useState<PickedResource[]>([]);
  const [git, setGit] = useState({ url: '', ref: '', path: '' });
  const resetForm = () => {
    setFile(null);
    setResources([]);
    setGit({ url: '', ref: '', path: '' });
  };

  const add = useMutation({
    mutationFn: async () => {
      let source: AppSource;
      if (tab === 'upload') {
        if (!file) throw new Error('choose a margo.yaml file');
        const res = await resourcesOf(resources);
        source = {
          kind: 'upload',
          upload: { fileName: file.name, content: await readText(file), ...(res ? { resources: res } : {}) },
        };
      } else {
        source = {
          kind: 'git',
          url: git.url.trim(),
          ...(git.ref.trim() ? { ref: git.ref.trim() } : {}),
          ...(git.path.trim() ? { path: git.path.trim() } : {}),
        };
      }
      return api.apps.add({ source });
    },
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['apps'] });
      resetForm();
      onClose();
      navigate(appPath(r.app.id, r.version.version));
    },
  });

  const close = () => {
    resetForm();
    add.reset();
    onClose();
  };
  const ready = tab === 'upload' ? file !== null : git.url.trim() !== '';

  return (
    <Dialog
      open={open}
      onClose={() => !add.isPending && close()}
      fullWidth
      maxWidth="sm"
      data-testid="add-app-dialog"
    >
      <DialogTitle>Add application</DialogTitle>
      <DialogContent>
        <Tabs
          value={tab}
          onChange={(_, v: 'upload' | 'git') => {
            add.reset();
            setTab(v);
          }}
          sx={{ mb: 2 }}
        >
          <Tab value="upload" label="Upload margo.yaml" data-testid="tab-upload" />
          <Tab value="git" label="From git" data-testid="tab-git" />
        </Tabs>
        {tab === 'upload' ? (
          <Stack spacing={2}>
            <Typography variant="body2" color="text.secondary">
              A Margo ApplicationDescription. Every version is kept; adding a version that exists with other
              content is refused.
            </Typography>
            <FileField
              label="Choose margo.yaml"
              accept=".yaml,.yml,application/yaml,text/yaml"
              file={file}
              onFile={(f) => {
                // A new file is a new attempt: the refusal of the previous one no longer applies.
                add.reset();
                setFile(f);
              }}
              testId="app-file"
            />
            <ResourceFilesField
              value={resources}
              onChange={(r) => {
                add.reset();
                setResources(r);
              }}
              testId="app-resources"
              hint="e.g. the icon, under the path margo.yaml gives it"
            />
          </Stack>
        ) : (
          <Stack spacing={2}>
            <TextField
              label="Repository URL"
              placeholder="https://git.example.com/apps/hello.git"
              value={git.url}
              onChange={(e) => setGit({ ...git, url: e.target.value })}
              required
              slotProps={{ htmlInput: { 'data-testid': 'git-url' } }}
            />
            <TextField
              label="Ref (branch, tag or commit)"
              placeholder="default branch"
              value={git.ref}
              onChange={(e) => setGit({ ...git, ref: e.target.value })}
              slotProps={{ htmlInput: { 'data-testid': 'git-ref' } }}
            />
            <TextField
              label="Path of margo.yaml or its folder"
              placeholder="repository root"
              value={git.path}
              onChange={(e) => setGit({ ...git, path: e.target.value })}
              slotProps={{ htmlInput: { 'data-testid': 'git-path' } }}
            />
          </Stack>
        )}
        {add.error ? (
          <Stack sx={{ mt: 2 }}>
            <ProblemAlert error={add.error} title="The server refused the application" />
          </Stack>
        ) : null}
      </DialogContent>
      <DialogActions>
        <Button onClick={close} disabled={add.isPending}>
          Cancel
        </Button>
        <Button
          variant="contained"
          onClick={() => add.mutate()}
          disabled={!ready || add.isPending}
          data-testid="add-app-submit"
        >
          {add.isPending ? 'Adding…' : 'Add'}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
