import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Alert, Box, Button, Grid, Skeleton } from '@mui/material';
import AddIcon from '@mui/icons-material/Add';
import { api } from '../../api.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { FetchedAge, PageHeader } from '../../components/PageHeader.js';
import { DeviceModelCard } from './DeviceModelCard.js';
import { AddDeviceModelDialog } from './AddDeviceModelDialog.js';
import { DeviceModelDrawer } from './DeviceModelDrawer.js';

export function DeviceStorePage() {
  const [adding, setAdding] = useState(false);
  const [openId, setOpenId] = useState<string | null>(null);
  const q = useQuery({ queryKey: ['device-models', 'list'], queryFn: () => api.deviceModels.list({}) });
  const models = q.data?.models;
  const open = models?.find((m) => m.id === openId) ?? null;
  return (
    <Box>
      <PageHeader
        title="Device Store"
        text="Device models registered by device developers: a Margo capabilities template, what they run, and how many nodes use them."
        age={<FetchedAge updatedAt={q.dataUpdatedAt} />}
        actions={
          <Button
            variant="contained"
            startIcon={<AddIcon />}
            onClick={() => setAdding(true)}
            data-testid="add-device-model"
          >
            Add device model
          </Button>
        }
      />
      {q.error ? <ErrorAlert error={q.error} /> : null}
      {!models ? (
        q.error ? null : (
          <Skeleton variant="rectangular" height={160} />
        )
      ) : models.length === 0 ? (
        <Alert severity="info" data-testid="no-device-models">
          No device model yet. Add one from its YAML or JSON file, or with "edgectl co add device-model".
        </Alert>
      ) : (
        <Grid container spacing={2} data-testid="device-model-grid">
          {models.map((m) => (
            <Grid key={m.id} size={{ xs: 12, sm: 6, lg: 4, xl: 3 }}>
              <DeviceModelCard model={m} onOpen={() => setOpenId(m.id)} />
            </Grid>
          ))}
        </Grid>
      )}
      <AddDeviceModelDialog open={adding} onClose={() => setAdding(false)} onAdded={(id) => setOpenId(id)} />
      <DeviceModelDrawer model={open} onClose={() => setOpenId(null)} />
    </Box>
  );
}
