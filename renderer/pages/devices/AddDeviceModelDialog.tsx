import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControlLabel,
  Stack,
  Typography,
} from '@mui/material';
import { api } from '../../api.js';
import { FileField, ResourceFilesField } from '../../components/FileField.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { readText, resourcesOf, type PickedResource } from '../../components/files.js';

/** Registers a device model from its YAML or JSON file and the picture it names. */
export function AddDeviceModelDialog({
  open,
  onClose,
  onAdded,
}: {
  open: boolean;
  onClose: () => void;
  onAdded: (id: string) => void;
}) {
  const qc = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [resources, setResources] = useState<PickedResource[]>([]);
  const [replace, setReplace] = useState(false);
  const resetForm = () => {
    setFile(null);
    setResources([]);
    setReplace(false);
  };
  const add = useMutation({
    mutationFn: async () => {
      if (!file) throw new Error('choose a device model file');
      const res = await resourcesOf(resources);
      return api.deviceModels.add({
        upload: { fileName: file.name, content: await readText(file), ...(res ? { resources: res } : {}) },
        replace,
      });
    },
    onSuccess: (m) => {
      void qc.invalidateQueries({ queryKey: ['device-models'] });
      resetForm();
      onClose();
      onAdded(m.id);
    },
  });
  const close = () => {
    resetForm();
    add.reset();
    onClose();
  };
  return (
    <Dialog
      open={open}
      onClose={() => !add.isPending && close()}
      fullWidth
      maxWidth="sm"
      data-testid="add-device-model-dialog"
    >
      <DialogTitle>Add device model</DialogTitle>
      <DialogContent>
        <Stack spacing={2}>
          <Typography variant="body2" color="text.secondary">
            A YAML or JSON file with the vendor, model number, a Margo DeviceCapabilities template, supported
            runtimes and deployment types, and optionally an icon and a documentation link.
          </Typography>
          <FileField
            label="Choose model file"
            accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml"
            file={file}
            onFile={setFile}
            testId="device-model-file"
          />
          <ResourceFilesField
            value={resources}
            onChange={setResources}
            testId="device-model-resources"
            hint="the picture or icon, under the path the file gives it"
          />
          <FormControlLabel
            control={<Checkbox checked={replace} onChange={(e) => setReplace(e.target.checked)} />}
            label="Replace the model if it exists"
          />
          {add.error ? <ProblemAlert error={add.error} title="The server refused the device model" /> : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={close} disabled={add.isPending}>
          Cancel
        </Button>
        <Button
          variant="contained"
          onClick={() => add.mutate()}
          disabled={!file || add.isPending}
          data-testid="add-device-model-submit"
        >
          {add.isPending ? 'Adding…' : 'Add'}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
