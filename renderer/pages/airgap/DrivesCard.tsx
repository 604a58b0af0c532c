import { useQuery } from '@tanstack/react-query';
import { Alert, Card, CardContent, Chip, List, ListItem, Stack, Typography } from '@mui/material';
import UsbIcon from '@mui/icons-material/Usb';
import { formatBytes, type DriveBundle } from '../../../lib/contract/index.js';
import { GatedButton, RoleNote } from '../../components/RoleGate.js';
import { useSession } from '../../session.js';
import { api } from '../../api.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';

/**
 * Removable drives the server sees, and the bundles at their top level as they claim to be (nothing is
 * verified until asked). A bundle addressed here is offered for verification and import; never imported
 * by itself.
 */
export function DrivesCard({ onPick }: { onPick: (b: DriveBundle) => void }) {
  // The server's drives are an operator's to read (ADR 0520): other roles are told so.
  const mayDrives = useSession().can('bundle.drives').allowed;
  const q = useQuery({ queryKey: ['drives'], queryFn: () => api.bundle.drives({}), enabled: mayDrives });
  const d = q.data;
  return (
    <Card variant="outlined" data-testid="drives-card">
      <CardContent>
        <Typography variant="h6" gutterBottom>
          Drives
        </Typography>
        <RoleNote
          channels={['bundle.drives', 'bundle.verify', 'bundle.import']}
          what="reading drives and importing"
        />
        {q.error ? <ErrorAlert error={q.error} /> : null}
        {d && !d.watching ? (
          <Typography variant="body2" color="text.secondary">
            {d.error ?? 'Drives are not watched.'} Choose files instead.
          </Typography>
        ) : null}
        {d?.watching && d.drives.length === 0 ? (
          <Typography variant="body2" color="text.secondary" data-testid="no-drives">
            No removable drive is mounted.
          </Typography>
        ) : null}
        <Stack spacing={1}>
          {(d?.drives ?? []).map((dr) => (
            <div key={dr.mountpoint} data-testid="drive" data-mountpoint={dr.mountpoint}>
              <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
                <UsbIcon fontSize="small" />
                <Typography variant="body2" sx={{ fontWeight: 600 }}>
                  {[dr.vendor, dr.model].filter(Boolean).join(' ') || dr.device}{' '}
                  {dr.label ? `“${dr.label}”` : ''}
                </Typography>
                <Typography variant="caption" color="text.secondary">
                  {dr.mountpoint}
                  {dr.freeBytes !== null ? ` · ${formatBytes(dr.freeBytes)} free` : ''}
                </Typography>
              </Stack>
              <List dense>
                {dr.bundles.map((b) => (
                  <ListItem key={b.file} data-testid="drive-bundle" data-for-here={String(b.forHere)}>
                    <Stack direction="row" spacing={1} sx={{ alignItems: 'center', width: '100%' }}>
                      <Typography variant="body2" sx={{ flexGrow: 1 }}>
                        {b.name} ({formatBytes(b.size)}):{' '}
                        {b.error
                          ? b.error
                          : `claims to be ${b.kind} ${b.source} → ${b.target} #${b.sequence}`}
                      </Typography>
                      {b.imported ? <Chip size="small" label="imported" /> : null}
                      {b.forHere ? (
                        <GatedButton
                          channel="bundle.verify"
                          size="small"
                          variant="contained"
                          onClick={() => onPick(b)}
                          data-testid="drive-verify"
                        >
                          Verify and import
                        </GatedButton>
                      ) : null}
                    </Stack>
                  </ListItem>
                ))}
              </List>
              {dr.bundles.some((b) => b.forHere) ? (
                <Alert severity="info">
                  A bundle for this server is on this drive: verify it, then import it.
                </Alert>
              ) : null}
            </div>
          ))}
        </Stack>
      </CardContent>
    </Card>
  );
}
