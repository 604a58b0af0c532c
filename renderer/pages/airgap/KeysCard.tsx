import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Button,
  Card,
  CardContent,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  IconButton,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Tooltip,
  Typography,
} from '@mui/material';
import DeleteIcon from '@mui/icons-material/Delete';
import { api } from '../../api.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { formatTime } from '../../format.js';
import type { TrustedBundleKey } from '../../../lib/contract/index.js';
import { GatedButton, RoleNote } from '../../components/RoleGate.js';
import { useSession } from '../../session.js';

function saveText(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** This server's signing key (export, rotate) and the keys it trusts (add, remove). */
export function KeysCard({ hq }: { hq: boolean }) {
  const qc = useQueryClient();
  // Keys and trust are an administrator's (ADR 0520): other roles are told so instead of refused.
  const { can } = useSession();
  const mayKeys = can('bundle.keys').allowed;
  const mayTrust = can('bundle.trustList').allowed;
  const keys = useQuery({
    queryKey: ['bundles', 'keys'],
    queryFn: () => api.bundle.keys({}),
    enabled: mayKeys,
  });
  const trust = useQuery({
    queryKey: ['bundles', 'trust'],
    queryFn: () => api.bundle.trustList({}),
    enabled: mayTrust,
  });
  const [rotating, setRotating] = useState(false);
  const [removing, setRemoving] = useState<TrustedBundleKey | null>(null);
  const [adding, setAdding] = useState(false);
  const exportKey = useMutation({
    mutationFn: () => api.bundle.exportKey({}),
    onSuccess: (k) => {
      saveText(`${k.keyId}.pub`, k.publicKey);
      void qc.invalidateQueries({ queryKey: ['bundles'] });
    },
  });
  const current = keys.data?.keys.find((k) => k.current);
  return (
    <Card variant="outlined" data-testid="keys-card">
      <CardContent>
        <Stack direction="row" spacing={2} sx={{ alignItems: 'center', mb: 1 }}>
          <Typography variant="h6" sx={{ flexGrow: 1 }}>
            Keys
          </Typography>
          <RoleNote
            channels={['bundle.keys', 'bundle.rotateKey', 'bundle.trustAdd', 'bundle.trustRemove']}
            what="bundle keys and trust"
          />
        </Stack>
        <Stack direction="row" spacing={2} sx={{ alignItems: 'center', mb: 2 }}>
          <Typography variant="body2" data-testid="signing-key">
            {!mayKeys
              ? 'The signing key is shown to administrators.'
              : current
                ? `Signing key ${current.keyId} (${current.storage === 'sealed' ? 'sealed by the desktop keychain' : '0600 file'}), ${current.fingerprint}`
                : 'No signing key yet: it is made on first use.'}
          </Typography>
          <GatedButton
            channel="bundle.exportKey"
            size="small"
            variant="outlined"
            onClick={() => exportKey.mutate()}
            data-testid="export-key"
          >
            Download public key
          </GatedButton>
          <GatedButton
            channel="bundle.rotateKey"
            size="small"
            onClick={() => setRotating(true)}
            disabled={!current}
            data-testid="rotate-key"
          >
            Rotate
          </GatedButton>
        </Stack>
        {exportKey.error ? <ErrorAlert error={exportKey.error} /> : null}
        <Stack direction="row" sx={{ alignItems: 'center', mb: 1 }}>
          <Typography variant="subtitle2" sx={{ flexGrow: 1 }}>
            Trusted keys {hq ? '(each site LO, pinned for its site)' : "(HQ's key)"}
          </Typography>
          <GatedButton
            channel="bundle.trustAdd"
            size="small"
            variant="outlined"
            onClick={() => setAdding(true)}
            data-testid="trust-add"
          >
            Trust a key
          </GatedButton>
        </Stack>
        {trust.error ? <ErrorAlert error={trust.error} /> : null}
        <Table size="small" data-testid="trusted-keys">
          <TableHead>
            <TableRow>
              <TableCell>Key</TableCell>
              <TableCell>Name</TableCell>
              <TableCell>Site</TableCell>
              <TableCell>From</TableCell>
              <TableCell>Added</TableCell>
              <TableCell align="right" />
            </TableRow>
          </TableHead>
          <TableBody>
            {(trust.data?.keys ?? []).map((k) => (
              <TableRow key={k.keyId} data-testid="trusted-key" data-key-id={k.keyId}>
                <TableCell>
                  <Tooltip title={k.fingerprint}>
                    <code>{k.keyId}</code>
                  </Tooltip>
                </TableCell>
                <TableCell>{k.name ?? '-'}</TableCell>
                <TableCell>{k.siteId ?? 'any'}</TableCell>
                <TableCell>{k.origin === 'rotation' ? `rotation of ${k.rotatedFrom}` : 'operator'}</TableCell>
                <TableCell>
                  {formatTime(k.addedAt)}
                  {k.removedAt !== null ? (
                    <Chip size="small" color="error" label="removed" sx={{ ml: 1 }} />
                  ) : null}
                </TableCell>
                <TableCell align="right">
                  {k.removedAt === null && can('bundle.trustRemove').allowed ? (
                    <IconButton
                      size="small"
                      aria-label={`remove key ${k.keyId}`}
                      onClick={() => setRemoving(k)}
                    >
                      <DeleteIcon fontSize="small" />
                    </IconButton>
                  ) : null}
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      </CardContent>
      <ConfirmDialog
        open={rotating}
        title="Rotate the signing key?"
        confirmLabel="Rotate"
        onClose={() => setRotating(false)}
        onConfirm={async () => {
          await api.bundle.rotateKey({});
          await qc.invalidateQueries({ queryKey: ['bundles'] });
        }}
      >
        A new key signs from now on; the old key signs the new one, and the next bundles carry that statement
        until the other side acknowledges one, so it follows without anyone pinning the new key.
      </ConfirmDialog>
      <ConfirmDialog
        open={removing !== null}
        title={`Stop trusting key ${removing?.keyId ?? ''}?`}
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          await api.bundle.trustRemove({ keyId: removing!.keyId });
          await qc.invalidateQueries({ queryKey: ['bundles'] });
        }}
      >
        Bundles signed by it, and rotations through it, are refused from now on.
      </ConfirmDialog>
      <TrustDialog open={adding} hq={hq} onClose={() => setAdding(false)} />
    </Card>
  );
}

function TrustDialog({ open, hq, onClose }: { open: boolean; hq: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  const [text, setText] = useState('');
  const [name, setName] = useState('');
  const [site, setSite] = useState('');
  const add = useMutation({
    mutationFn: () =>
      api.bundle.trustAdd({
        publicKey: text,
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(site.trim() ? { siteId: site.trim() } : {}),
      }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['bundles'] });
      setText('');
      setName('');
      setSite('');
      onClose();
    },
  });
  return (
    <Dialog open={open} onClose={onClose} fullWidth maxWidth="sm" data-testid="trust-dialog">
      <DialogTitle>Trust a bundle signing key</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          <Button variant="outlined" component="label">
            Choose a .pub file
            <input
              type="file"
              hidden
              accept=".pub,text/plain"
              data-testid="trust-file"
              onChange={(e) => {
                const f = e.target.files?.[0];
                if (f) void f.text().then(setText);
                e.target.value = '';
              }}
            />
          </Button>
          <TextField
            label="minisign public key"
            multiline
            minRows={2}
            value={text}
            onChange={(e) => setText(e.target.value)}
            slotProps={{ htmlInput: { 'data-testid': 'trust-text' } }}
          />
          <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} />
          {hq ? (
            <TextField
              label="Site"
              helperText="the site whose LO this key is: only that site's status bundles are accepted with it"
              value={site}
              onChange={(e) => setSite(e.target.value)}
              slotProps={{ htmlInput: { 'data-testid': 'trust-site' } }}
            />
          ) : null}
          {add.error ? <ProblemAlert error={add.error} /> : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button
          variant="contained"
          disabled={!text.trim() || add.isPending}
          onClick={() => add.mutate()}
          data-testid="trust-submit"
        >
          Trust
        </Button>
      </DialogActions>
    </Dialog>
  );
}
