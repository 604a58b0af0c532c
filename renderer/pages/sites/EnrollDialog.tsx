import { useState } from 'react';
import { useMutation, useQuery } from '@tanstack/react-query';
import {
  Box,
  Button,
  Card,
  CardContent,
  Chip,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  IconButton,
  Link,
  MenuItem,
  Stack,
  TextField,
  Tooltip,
  Typography,
} from '@mui/material';
import ContentCopyIcon from '@mui/icons-material/ContentCopy';
import type { EnrollToken, Site } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { GatedButton } from '../../components/RoleGate.js';
import { formatTime } from '../../format.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { PresenceChip } from './PresenceChip.js';
import { nodePath } from '../nodes/routes.js';

const TTLS = [
  { minutes: 60, label: '1 hour' },
  { minutes: 8 * 60, label: '8 hours' },
  { minutes: 24 * 60, label: '1 day' },
  { minutes: 7 * 24 * 60, label: '7 days' },
];

/** Node names as typed: separated by commas, spaces or new lines. */
export function parseNodeNames(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function CopyField({ value, label, testId }: { value: string; label: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
      <TextField
        fullWidth
        size="small"
        label={label}
        value={value}
        slotProps={{
          input: { readOnly: true, sx: { fontFamily: 'monospace', fontSize: 13 } },
          htmlInput: { 'data-testid': testId },
        }}
        onFocus={(e) => e.target.select()}
      />
      <Tooltip title={copied ? 'Copied' : `Copy the ${label.toLowerCase()}`}>
        <IconButton
          aria-label={`Copy the ${label.toLowerCase()}`}
          onClick={() => {
            void navigator.clipboard
              ?.writeText(value)
              .then(() => setCopied(true))
              .catch(() => setCopied(false));
          }}
          data-testid={`${testId}-copy`}
        >
          <ContentCopyIcon />
        </IconButton>
      </Tooltip>
    </Stack>
  );
}

/** One token: QR code, command, and the node's state and presence as they change. */
function TokenCard({ t }: { t: EnrollToken }) {
  const node = useQuery({
    queryKey: ['nodes', 'get', t.nodeName],
    queryFn: () => api.nodes.get({ name: t.nodeName }),
    // Live events refetch it; until the node enrolls, ask every few seconds as well.
    refetchInterval: (q) => (q.state.data?.presence === 'online' ? false : 3000),
  });
  const n = node.data;
  return (
    <Card variant="outlined" data-testid="enroll-token" data-node={t.nodeName}>
      <CardContent>
        <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2}>
          <Box
            role="img"
            aria-label={`QR code of the enrollment token for ${t.nodeName}`}
            sx={{
              width: 168,
              height: 168,
              flexShrink: 0,
              bgcolor: '#fff',
              '& svg': { width: '100%', height: '100%' },
            }}
            data-testid="enroll-qr"
            // The server made this SVG from the token (qrcode); it holds no script.
            dangerouslySetInnerHTML={{ __html: t.qrSvg }}
          />
          <Stack spacing={1.5} sx={{ flexGrow: 1, minWidth: 0 }}>
            <Stack direction="row" spacing={1} sx={{ alignItems: 'center', flexWrap: 'wrap' }}>
              <Typography variant="subtitle1" component="h3">
                <Link href={`#${nodePath(t.nodeName)}`}>{t.nodeName}</Link>
              </Typography>
              <Chip
                size="small"
                variant="outlined"
                label={n?.state ?? 'registered'}
                color={n?.state === 'enrolled' ? 'success' : 'default'}
                data-testid="enroll-node-state"
                data-state={n?.state ?? ''}
              />
              {n ? <PresenceChip presence={n.presence} lastSeenAt={n.lastSeenAt} /> : null}
            </Stack>
            <CopyField label="Command" value={t.command} testId="enroll-command" />
            <CopyField label="Token" value={t.token} testId="enroll-token-text" />
            <Typography variant="caption" color="text.secondary">
              Works once, until {formatTime(t.expiresAt)}; site CA {t.caFingerprint.slice(0, 23)}…
            </Typography>
          </Stack>
        </Stack>
      </CardContent>
    </Card>
  );
}

/**
 * Enrollment from the console: a site and one or more node names give one-time tokens, each with its QR
 * code and the exact `edgectl agent enroll` command; the dialog then shows each node enrolling and
 * coming online as it happens.
 */
export function EnrollDialog({
  sites,
  defaultSite,
  onClose,
}: {
  sites: Site[];
  defaultSite: string;
  onClose: () => void;
}) {
  const local = sites.filter((s) => s.servedBy === 'embedded');
  const [site, setSite] = useState(
    local.some((s) => s.id === defaultSite) ? defaultSite : (local[0]?.id ?? ''),
  );
  const [names, setNames] = useState('');
  const [ttl, setTtl] = useState(60);
  const create = useMutation({
    mutationFn: () =>
      api.identity.createEnrollTokens({ nodes: parseNodeNames(names), siteId: site, ttlMinutes: ttl }),
  });
  const tokens = create.data?.tokens;
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="md" aria-labelledby="enroll-title">
      <DialogTitle id="enroll-title">Enroll nodes</DialogTitle>
      <DialogContent>
        {!tokens ? (
          <Stack spacing={2} sx={{ pt: 1 }}>
            <DialogContentText>
              One-time tokens for nodes at a site this server serves. Run the command on each node (or scan
              its QR code); it appears here, enrolled and online, as soon as its agent starts.
            </DialogContentText>
            {local.length === 0 ? (
              <ProblemAlert
                error={
                  new Error(
                    'No site is served by this server: add a site first (a site served by a remote LO enrolls its nodes there).',
                  )
                }
              />
            ) : null}
            <TextField
              select
              label="Site"
              value={site}
              onChange={(e) => setSite(e.target.value)}
              slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'enroll-site' } as object } }}
            >
              {local.map((s) => (
                <MenuItem key={s.id} value={s.id}>
                  {s.name}
                </MenuItem>
              ))}
            </TextField>
            <TextField
              label="Node names"
              placeholder="edge-1, edge-2"
              helperText="One or more, separated by commas, spaces or new lines: lower-case letters, digits and dashes."
              multiline
              minRows={2}
              value={names}
              onChange={(e) => setNames(e.target.value)}
              slotProps={{ htmlInput: { 'data-testid': 'enroll-names' } }}
            />
            <TextField
              select
              label="Valid for"
              value={ttl}
              onChange={(e) => setTtl(Number(e.target.value))}
              slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'enroll-ttl' } as object } }}
            >
              {TTLS.map((t) => (
                <MenuItem key={t.minutes} value={t.minutes}>
                  {t.label}
                </MenuItem>
              ))}
            </TextField>
            {create.error ? <ProblemAlert error={create.error} /> : null}
          </Stack>
        ) : (
          <Stack spacing={2} sx={{ pt: 1 }} data-testid="enroll-tokens">
            {tokens.map((t) => (
              <TokenCard key={t.nodeUid} t={t} />
            ))}
          </Stack>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} data-testid="enroll-close">
          {tokens ? 'Done' : 'Cancel'}
        </Button>
        {!tokens ? (
          <GatedButton
            channel="identity.createEnrollTokens"
            variant="contained"
            disabled={!site || parseNodeNames(names).length === 0 || create.isPending}
            onClick={() => create.mutate()}
            data-testid="enroll-create"
          >
            Create token{parseNodeNames(names).length > 1 ? 's' : ''}
          </GatedButton>
        ) : null}
      </DialogActions>
    </Dialog>
  );
}
