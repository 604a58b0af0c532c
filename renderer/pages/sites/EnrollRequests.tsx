import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  MenuItem,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import type { DeviceModel, EnrollRequestView, Site } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { formatAge } from '../../format.js';
import { useTick } from '../../components/ticker.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { FetchedAge } from '../../components/PageHeader.js';
import { SinceText } from './SinceText.js';

/**
 * Nodes waiting for approval (ADR 0462) and machines found on the network (ADR 0460). Requests arrive live
 * (the server announces `enroll-requests`); the operator compares the code and key fingerprint with what
 * the node prints before approving it as a node of a site, or rejects it.
 */
export function EnrollRequests({ sites, models }: { sites: Site[]; models: DeviceModel[] }) {
  const requestsQ = useQuery({
    queryKey: ['enroll-requests', 'list'],
    queryFn: () => api.enrollRequests.list({}),
    // Expiry happens without an event while nobody asks: look again now and then.
    refetchInterval: 30_000,
  });
  const discoveryQ = useQuery({
    queryKey: ['discovery', 'status'],
    queryFn: () => api.discovery.status({}),
    refetchInterval: 15_000,
  });
  const [approving, setApproving] = useState<EnrollRequestView | null>(null);
  const [rejecting, setRejecting] = useState<EnrollRequestView | null>(null);
  const qc = useQueryClient();
  const now = useTick();
  const requests = requestsQ.data?.requests ?? [];
  const found = discoveryQ.data?.agents.filter((a) => a.enrolledAs === null) ?? [];
  const conflicts = discoveryQ.data?.conflicts ?? [];
  const byId = new Map(requests.map((r) => [r.id, r]));
  return (
    <Card variant="outlined" data-testid="enroll-requests">
      <CardContent>
        <Stack direction="row" spacing={2} sx={{ alignItems: 'baseline' }}>
          <Typography variant="h6">Waiting for approval</Typography>
          <Typography variant="caption" color="text.secondary">
            <FetchedAge updatedAt={requestsQ.dataUpdatedAt} />
          </Typography>
        </Stack>
        {requestsQ.error ? <ErrorAlert error={requestsQ.error} /> : null}
        {conflicts.map((c) => (
          <Alert
            severity="error"
            key={`${c.instance}-${c.caFingerprint}`}
            sx={{ my: 1 }}
            data-testid="lo-conflict"
          >
            Another LO advertises site {c.siteId} at {c.mmiUrl}
            {c.from ? ` (from ${c.from})` : ''} with a CA that is not this site's (
            {c.caFingerprint.slice(7, 23)}…). Nodes enrolling with a token refuse it; nodes asking for
            approval cannot tell the two apart.
          </Alert>
        ))}
        {requests.length === 0 ? (
          <Typography variant="body2" color="text.secondary" data-testid="no-requests">
            No node is waiting. On a new node run <code>edgectl agent enroll --discover --request</code>; it
            appears here with a code to compare.
          </Typography>
        ) : (
          <Table size="small">
            <TableHead>
              <TableRow>
                <TableCell>Host</TableCell>
                <TableCell>Address</TableCell>
                <TableCell>Code</TableCell>
                <TableCell>Key fingerprint</TableCell>
                <TableCell>Hardware</TableCell>
                <TableCell>Asked</TableCell>
                <TableCell>Expires</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {requests.map((r) => (
                <TableRow key={r.id} data-testid="enroll-request" data-id={r.id}>
                  <TableCell>
                    {r.hostname ?? '—'}
                    {r.requestedName && r.requestedName !== r.hostname ? (
                      <Typography variant="caption" sx={{ display: 'block' }} color="text.secondary">
                        asks to be {r.requestedName}
                      </Typography>
                    ) : null}
                  </TableCell>
                  <TableCell>{r.address}</TableCell>
                  <TableCell>
                    <Typography
                      sx={{ fontFamily: 'monospace', fontWeight: 600, whiteSpace: 'nowrap' }}
                      data-testid="request-code"
                    >
                      {r.code}
                    </Typography>
                  </TableCell>
                  <TableCell
                    sx={{ fontFamily: 'monospace', whiteSpace: 'nowrap' }}
                    data-testid="request-fingerprint"
                  >
                    {r.shortFingerprint}
                  </TableCell>
                  <TableCell>{hardwareText(r)}</TableCell>
                  <TableCell>
                    <SinceText at={r.createdAt} />
                  </TableCell>
                  <TableCell>in {formatAge(Math.max(0, r.expiresAt - now))}</TableCell>
                  <TableCell align="right">
                    <Stack direction="row" spacing={1} sx={{ justifyContent: 'flex-end' }}>
                      <Button size="small" onClick={() => setRejecting(r)} data-testid="reject-request">
                        Reject
                      </Button>
                      <Button
                        size="small"
                        variant="contained"
                        onClick={() => setApproving(r)}
                        disabled={sites.length === 0}
                        data-testid="approve-request"
                      >
                        Approve
                      </Button>
                    </Stack>
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
        <Box sx={{ mt: 2 }}>
          <Typography variant="subtitle2">
            Found on the network{' '}
            <Typography component="span" variant="caption" color="text.secondary">
              {discoveryQ.data?.advertising
                ? `(this LO advertises ${discoveryQ.data.advertising.mmiUrl} on ${discoveryQ.data.advertising.interfaces.join(', ')})`
                : discoveryQ.data?.note
                  ? `(${discoveryQ.data.note})`
                  : ''}
            </Typography>
          </Typography>
          {found.length === 0 ? (
            <Typography variant="body2" color="text.secondary" data-testid="found-none">
              No unenrolled agent advertises itself on this LO&apos;s network.
            </Typography>
          ) : (
            <Stack spacing={0.5} sx={{ mt: 0.5 }} data-testid="found-agents">
              {found.map((a) => {
                const req = a.requestId ? byId.get(a.requestId) : undefined;
                return (
                  <Stack key={a.instance} direction="row" spacing={1} sx={{ alignItems: 'center' }}>
                    <Chip size="small" label={a.host} />
                    <Typography variant="body2">
                      {a.addresses.join(', ')} · key {a.shortFingerprint} · v{a.version} · seen{' '}
                      {formatAge(Math.max(0, now - a.lastSeen))} ago
                    </Typography>
                    {req ? (
                      <Button size="small" onClick={() => setApproving(req)}>
                        Review its request
                      </Button>
                    ) : (
                      <Typography variant="caption" color="text.secondary">
                        not asking yet: run <code>edgectl agent enroll --discover --request</code> on it
                      </Typography>
                    )}
                  </Stack>
                );
              })}
            </Stack>
          )}
        </Box>
      </CardContent>
      {approving ? (
        <ApproveDialog request={approving} sites={sites} models={models} onClose={() => setApproving(null)} />
      ) : null}
      <ConfirmDialog
        open={rejecting !== null}
        title={`Reject the request of ${rejecting?.hostname ?? rejecting?.id ?? ''}?`}
        confirmLabel="Reject"
        onConfirm={() => api.enrollRequests.reject({ id: rejecting!.id })}
        onClose={(done) => {
          setRejecting(null);
          if (done) void qc.invalidateQueries({ queryKey: ['enroll-requests'] });
        }}
      >
        The node is told that its request was rejected and stops waiting.
      </ConfirmDialog>
    </Card>
  );
}

function hardwareText(r: EnrollRequestView): string {
  const h = r.hardware ?? {};
  return [h.arch, h.cores !== undefined ? `${String(h.cores)} cores` : undefined, h.memory]
    .filter((v) => v !== undefined && v !== null)
    .map(String)
    .join(', ');
}

/** A node name from the host name: lowercase letters, digits and dashes. */
function suggestName(r: EnrollRequestView): string {
  const base = (r.requestedName ?? r.hostname ?? '').split('.')[0]!.toLowerCase();
  return base
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

function ApproveDialog({
  request,
  sites,
  models,
  onClose,
}: {
  request: EnrollRequestView;
  sites: Site[];
  models: DeviceModel[];
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const [name, setName] = useState(() => suggestName(request));
  const [siteId, setSiteId] = useState(sites[0]?.id ?? '');
  const [modelId, setModelId] = useState('');
  const approve = useMutation({
    mutationFn: () =>
      api.enrollRequests.approve({ id: request.id, node: name, siteId, ...(modelId ? { modelId } : {}) }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['enroll-requests'] });
      void qc.invalidateQueries({ queryKey: ['nodes'] });
      onClose();
    },
  });
  return (
    <Dialog
      open
      onClose={() => !approve.isPending && onClose()}
      fullWidth
      maxWidth="sm"
      data-testid="approve-dialog"
    >
      <DialogTitle>Approve {request.hostname ?? request.id}</DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          <Alert severity="info">
            Compare with what the node prints: code <strong data-testid="approve-code">{request.code}</strong>
            , key <strong>{request.shortFingerprint}</strong>. Approve only when both match.
          </Alert>
          <TextField
            label="Node name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            slotProps={{ htmlInput: { 'data-testid': 'approve-name' } }}
          />
          <TextField
            select
            label="Site"
            value={siteId}
            onChange={(e) => setSiteId(e.target.value)}
            slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'approve-site' } as object } }}
          >
            {sites.map((s) => (
              <MenuItem key={s.id} value={s.id}>
                {s.name}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            select
            label="Device model (optional)"
            value={modelId}
            onChange={(e) => setModelId(e.target.value)}
          >
            <MenuItem value="">none</MenuItem>
            {models.map((m) => (
              <MenuItem key={m.id} value={m.id}>
                {m.name}
              </MenuItem>
            ))}
          </TextField>
          {approve.error ? <ProblemAlert error={approve.error} /> : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={approve.isPending}>
          Cancel
        </Button>
        <Button
          variant="contained"
          onClick={() => approve.mutate()}
          disabled={approve.isPending || !name || !siteId}
          data-testid="approve-confirm"
        >
          Approve
        </Button>
      </DialogActions>
    </Dialog>
  );
}
