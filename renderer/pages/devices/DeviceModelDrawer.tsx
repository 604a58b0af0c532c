import { useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Box, Button, Divider, Drawer, IconButton, Link, Stack, Typography } from '@mui/material';
import CloseIcon from '@mui/icons-material/Close';
import DeleteIcon from '@mui/icons-material/Delete';
import type { DeviceModel } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { navigate } from '../../router.js';
import { formatTime } from '../../format.js';
import { EntityAvatar } from '../../components/EntityAvatar.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { ChipRow } from './DeviceModelCard.js';
import { RoleGate } from '../../components/RoleGate.js';

/** A device model in full: its capabilities template, pretty-printed; remove with confirmation. */
export function DeviceModelDrawer({ model: m, onClose }: { model: DeviceModel | null; onClose: () => void }) {
  const qc = useQueryClient();
  const [removing, setRemoving] = useState(false);
  return (
    // Above the app bar (a temporary drawer sits at the drawer level, under it, by default).
    <Drawer anchor="right" open={m !== null} onClose={onClose} sx={{ zIndex: (t) => t.zIndex.modal }}>
      {m ? (
        <Box
          sx={{ width: 560, maxWidth: '100vw', p: 3 }}
          data-testid="device-model-drawer"
          data-model-id={m.id}
        >
          <Stack direction="row" spacing={2} sx={{ alignItems: 'center', mb: 2 }}>
            <EntityAvatar icon={m.icon} name={m.name} size={64} />
            <Box sx={{ flexGrow: 1, minWidth: 0 }}>
              <Typography variant="h6">{m.name}</Typography>
              <Typography variant="body2" color="text.secondary">
                {m.vendor} · {m.modelNumber} · <code>{m.id}</code>
              </Typography>
            </Box>
            <IconButton aria-label="close" onClick={onClose}>
              <CloseIcon />
            </IconButton>
          </Stack>
          {m.description ? <Typography variant="body2">{m.description}</Typography> : null}
          <ChipRow label="Runtimes" values={m.runtimes} testId="drawer-runtime-chip" />
          <ChipRow label="Deployment types" values={m.deploymentTypes} testId="drawer-deployment-type-chip" />
          <Typography variant="body2" sx={{ mt: 1 }}>
            {m.nodeCount === 1 ? '1 node uses' : `${m.nodeCount} nodes use`} this model (link nodes on{' '}
            <Link component="button" variant="body2" onClick={() => navigate('/sites')}>
              Sites & Nodes
            </Link>
            ) · added {formatTime(m.createdAt)}
            {m.documentationUrl ? (
              <>
                {' · '}
                <Link href={m.documentationUrl} target="_blank" rel="noopener noreferrer">
                  documentation
                </Link>
              </>
            ) : null}
          </Typography>
          <Divider sx={{ my: 2 }} />
          <Typography variant="subtitle2" gutterBottom>
            Capabilities template (Margo DeviceCapabilities)
          </Typography>
          <Box
            component="pre"
            data-testid="device-model-capabilities"
            sx={{
              m: 0,
              p: 1.5,
              fontSize: 12,
              bgcolor: 'grey.100',
              borderRadius: 1,
              overflow: 'auto',
              maxHeight: '55vh',
            }}
          >
            {JSON.stringify(m.capabilities, null, 2)}
          </Box>
          <Box sx={{ mt: 2 }}>
            <RoleGate channel="deviceModels.remove" action="Remove model">
              <Button
                color="error"
                variant="outlined"
                startIcon={<DeleteIcon />}
                onClick={() => setRemoving(true)}
                data-testid="remove-device-model"
              >
                Remove model
              </Button>
            </RoleGate>
          </Box>
          <ConfirmDialog
            open={removing}
            title={`Remove ${m.name}?`}
            onClose={(done) => {
              setRemoving(false);
              if (done) onClose();
            }}
            onConfirm={async () => {
              await api.deviceModels.remove({ id: m.id });
              await qc.invalidateQueries({ queryKey: ['device-models'] });
            }}
          >
            The model leaves the Device Store. A model that nodes still link to cannot be removed.
          </ConfirmDialog>
        </Box>
      ) : null}
    </Drawer>
  );
}
