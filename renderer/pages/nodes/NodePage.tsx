import { useState, type ReactNode } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Chip,
  Grid,
  Link,
  List,
  ListItem,
  ListItemText,
  MenuItem,
  Skeleton,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import ArrowBackIcon from '@mui/icons-material/ArrowBack';
import type { McuSummary, NodeDetail } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { formatAge, formatTime } from '../../format.js';
import { useTick } from '../../components/ticker.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { LabelChips } from '../../components/LabelChips.js';
import { FetchedAge } from '../../components/PageHeader.js';
import { GatedButton, RoleNote } from '../../components/RoleGate.js';
import { PresenceChip } from '../sites/PresenceChip.js';
import { capacitySummary } from '../sites/summary.js';
import { EditLabelsDialog, SetModelDialog } from '../sites/NodeDialogs.js';
import { useRefetchOn } from '../deployments/use-refetch-on.js';
import { deploymentPath } from '../deployments/routes.js';

/** "3 h ago" with the exact time on hover; "never" for null. */
function Ago({ at, testId }: { at: number | null; testId?: string }) {
  const now = useTick();
  if (at === null) return <span data-testid={testId}>never</span>;
  const d = now - at;
  return (
    <span title={formatTime(at)} data-testid={testId}>
      {d >= 0 ? `${formatAge(d)} ago` : `in ${formatAge(-d)}`}
    </span>
  );
}

function Section({ title, children, testId }: { title: string; children: ReactNode; testId?: string }) {
  return (
    <Card variant="outlined" sx={{ height: '100%' }} data-testid={testId}>
      <CardContent>
        <Typography variant="h6" component="h2" gutterBottom>
          {title}
        </Typography>
        {children}
      </CardContent>
    </Card>
  );
}

function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <Table size="small">
      <TableBody>
        {rows.map(([k, v]) => (
          <TableRow key={k}>
            <TableCell component="th" scope="row" sx={{ color: 'text.secondary', width: 160, pl: 0 }}>
              {k}
            </TableCell>
            <TableCell sx={{ overflowWrap: 'anywhere' }}>{v}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function Identity({ d }: { d: NodeDetail }) {
  const now = useTick();
  const s = d.svid;
  const expiring = s ? s.notAfter - now < 7 * 86_400_000 : false;
  return (
    <Facts
      rows={[
        ['Client id', <code key="uid">{d.node.uid}</code>],
        ['State', <span key="state">{d.node.state}</span>],
        ['Enrolled', <Ago key="enrolled" at={d.node.enrolledAt} />],
        ['SPIFFE ID', s ? <code key="spiffe">{s.spiffeId}</code> : 'no SVID issued here'],
        [
          'SVID expires',
          s ? (
            <Box
              key="exp"
              component="span"
              sx={{ color: expiring ? 'error.main' : undefined, fontWeight: expiring ? 600 : undefined }}
              data-testid="svid-expiry"
            >
              <Ago at={s.notAfter} /> ({formatTime(s.notAfter)})
            </Box>
          ) : (
            '-'
          ),
        ],
        ['SVID serial', s ? <code key="serial">{s.serialHex}</code> : '-'],
      ]}
    />
  );
}

/** A host's microcontrollers (child device nodes): presence and its age, board, firmware, workloads. */
function Mcus({ mcus }: { mcus: McuSummary[] }) {
  return (
    <Table size="small" data-testid="mcus">
      <TableHead>
        <TableRow>
          <TableCell>Microcontroller</TableCell>
          <TableCell>Presence</TableCell>
          <TableCell>Board</TableCell>
          <TableCell>Firmware</TableCell>
          <TableCell>Workloads</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {mcus.map((m) => (
          <TableRow key={m.name} data-testid="mcu" data-name={m.name}>
            <TableCell>
              <Link href={`#/nodes/${encodeURIComponent(m.name)}`}>{m.name}</Link>
              <Typography variant="caption" color="text.secondary" component="div">
                {m.port ?? ''}
              </Typography>
            </TableCell>
            <TableCell>
              <PresenceChip presence={m.presence} lastSeenAt={m.lastSeenAt} />
              <Typography variant="caption" color="text.secondary" component="div" data-testid="mcu-since">
                {m.since !== null ? <Ago at={m.since} /> : null}
                {m.presence === 'offline' && m.lastError ? ` · ${m.lastError}` : ''}
              </Typography>
            </TableCell>
            <TableCell data-testid="mcu-board">{m.board ?? 'unknown'}</TableCell>
            <TableCell data-testid="mcu-firmware">
              {m.firmware ?? 'unknown'}
              {m.ocre ? ` · Ocre ${m.ocre}` : ''}
              {m.resets ? ` · ${m.resets} reset${m.resets === 1 ? '' : 's'}` : ''}
            </TableCell>
            <TableCell>
              {m.workloads.length === 0
                ? 'none'
                : m.workloads.map((w) => (
                    <div key={w.deploymentId} data-testid="mcu-workload">
                      <Link href={`#${deploymentPath(w.deploymentId)}`}>{w.deploymentName}</Link>{' '}
                      <Chip
                        size="small"
                        label={w.state}
                        color={
                          w.state === 'failed' ? 'error' : w.state === 'installed' ? 'success' : 'default'
                        }
                        data-testid="mcu-workload-state"
                      />
                    </div>
                  ))}
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

function Workloads({ d }: { d: NodeDetail }) {
  if (d.workloads.length === 0)
    return (
      <Typography variant="body2" color="text.secondary" data-testid="no-workloads">
        No deployment targets this node.
      </Typography>
    );
  return (
    <Table size="small" data-testid="workloads">
      <TableHead>
        <TableRow>
          <TableCell>Deployment</TableCell>
          <TableCell>Version</TableCell>
          <TableCell>State</TableCell>
          <TableCell>Reported</TableCell>
          <TableCell>Assigned</TableCell>
          <TableCell>Error</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {d.workloads.map((w) => (
          <TableRow key={w.deploymentId} data-testid="workload">
            <TableCell>
              <Link href={`#${deploymentPath(w.deploymentId)}`}>{w.deploymentName}</Link>
              <Typography variant="caption" color="text.secondary" component="div">
                {w.appId}
                {w.desired === 'absent' ? ' · being removed' : ''}
              </Typography>
            </TableCell>
            <TableCell>{w.version}</TableCell>
            <TableCell>
              <Chip
                size="small"
                label={w.state}
                color={w.state === 'failed' ? 'error' : w.state === 'installed' ? 'success' : 'default'}
                variant={w.current ? 'filled' : 'outlined'}
                title={w.current ? undefined : 'the last report is about an earlier revision'}
                data-testid="workload-state"
              />
            </TableCell>
            <TableCell>
              <Ago at={w.stateAt} />
            </TableCell>
            <TableCell>
              <Ago at={w.assignedAt} />
            </TableCell>
            <TableCell sx={{ whiteSpace: 'normal', overflowWrap: 'anywhere', maxWidth: 360 }}>
              {w.error ?? ''}
              {w.components
                .filter((c) => c.error)
                .map((c) => (
                  <div key={c.name}>
                    {c.name}: {c.error}
                  </div>
                ))}
            </TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}

/** "Why not this node" for any app: every profile of the newest version of each app, or one app's. */
function WhyNot({ name }: { name: string }) {
  const [appId, setAppId] = useState('');
  const apps = useQuery({ queryKey: ['apps', 'list'], queryFn: () => api.apps.list({}) });
  const key = ['nodes', 'fit', name, appId] as const;
  const fit = useQuery({
    queryKey: key,
    queryFn: () => api.nodes.fit({ name, ...(appId ? { appId } : {}) }),
  });
  useRefetchOn('apps', key);
  useRefetchOn('deployments', key);
  return (
    <Stack spacing={1}>
      <TextField
        select
        size="small"
        label="Application"
        value={appId}
        onChange={(e) => setAppId(e.target.value)}
        sx={{ maxWidth: 320 }}
        slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'fit-app' } as object } }}
      >
        <MenuItem value="">every application (newest version)</MenuItem>
        {(apps.data?.apps ?? []).map((a) => (
          <MenuItem key={a.id} value={a.id}>
            {a.name}
          </MenuItem>
        ))}
      </TextField>
      {fit.error ? <ErrorAlert error={fit.error} /> : null}
      {fit.data?.fits.length === 0 ? (
        <Typography variant="body2" color="text.secondary">
          The App Store is empty.
        </Typography>
      ) : null}
      <List dense disablePadding>
        {(fit.data?.fits ?? []).map((f) => (
          <ListItem
            key={`${f.appId}/${f.profileId}`}
            divider
            data-testid="fit"
            data-app={f.appId}
            data-fits={String(f.fits)}
            sx={{ alignItems: 'flex-start' }}
          >
            <ListItemText
              primary={
                <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
                  <span>
                    {f.appName} {f.version} · {f.profileType}
                  </span>
                  <Chip
                    size="small"
                    color={f.fits ? 'success' : 'error'}
                    variant="outlined"
                    label={f.fits ? 'fits' : 'does not fit'}
                  />
                </Stack>
              }
              secondary={
                f.reasons.length > 0 ? (
                  <Box component="span" data-testid="fit-reasons">
                    {f.reasons.map((r) => (
                      <Box component="span" key={r.code + r.message} sx={{ display: 'block' }}>
                        {r.message}
                      </Box>
                    ))}
                  </Box>
                ) : null
              }
            />
          </ListItem>
        ))}
      </List>
    </Stack>
  );
}

/**
 * One node: identity and SVID expiry, presence and its history, labels (operator and reported),
 * capabilities and model, child devices, workloads, events and audit entries, and why an app does or
 * does not fit it. Cordon, labels, model and revoke act from here.
 */
export function NodePage({ name }: { name: string }) {
  const qc = useQueryClient();
  const key = ['nodes', 'detail', name] as const;
  const q = useQuery({
    queryKey: key,
    queryFn: () => api.nodes.detail({ name }),
    refetchInterval: 15_000,
  });
  useRefetchOn('deployments', key);
  const models = useQuery({ queryKey: ['device-models', 'list'], queryFn: () => api.deviceModels.list({}) });
  const [dialog, setDialog] = useState<'labels' | 'model' | 'revoke' | null>(null);
  const cordon = useMutation({
    mutationFn: (on: boolean) => (on ? api.nodes.cordon({ name }) : api.nodes.uncordon({ name })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['nodes'] }),
  });
  const back = (
    <Button startIcon={<ArrowBackIcon />} href="#/sites" sx={{ mb: 1 }}>
      Sites & Nodes
    </Button>
  );
  if (q.error)
    return (
      <Box>
        {back}
        <Typography variant="h5" component="h1" gutterBottom>
          Node {name}
        </Typography>
        <ErrorAlert error={q.error} />
      </Box>
    );
  const d = q.data;
  if (!d)
    return (
      <Box>
        {back}
        <Skeleton variant="rectangular" height={240} />
      </Box>
    );
  const n = d.node;
  return (
    <Box>
      {back}
      <Stack direction="row" spacing={2} sx={{ alignItems: 'center', mb: 2, flexWrap: 'wrap' }}>
        <Typography variant="h5" component="h1" data-testid="node-name">
          Node {n.name}
        </Typography>
        <PresenceChip presence={n.presence} lastSeenAt={n.lastSeenAt} />
        <Chip size="small" variant="outlined" label={n.state} data-testid="node-state" />
        {n.cordoned ? <Chip size="small" color="warning" label="cordoned" data-testid="cordoned" /> : null}
        <Typography variant="body2" color="text.secondary">
          site <Link href={`#/sites?site=${encodeURIComponent(n.siteId)}`}>{n.siteId}</Link> ·{' '}
          <FetchedAge updatedAt={q.dataUpdatedAt} />
        </Typography>
        <Box sx={{ flexGrow: 1 }} />
        <GatedButton
          channel={n.cordoned ? 'nodes.uncordon' : 'nodes.cordon'}
          variant="outlined"
          onClick={() => cordon.mutate(!n.cordoned)}
          disabled={cordon.isPending}
          data-testid="node-cordon"
        >
          {n.cordoned ? 'Uncordon' : 'Cordon'}
        </GatedButton>
        <GatedButton
          channel="nodes.label"
          variant="outlined"
          onClick={() => setDialog('labels')}
          data-testid="node-labels"
        >
          Edit labels
        </GatedButton>
        <GatedButton
          channel="nodes.setModel"
          variant="outlined"
          onClick={() => setDialog('model')}
          data-testid="node-model"
        >
          Set model
        </GatedButton>
        <GatedButton
          channel="identity.revokeNode"
          variant="outlined"
          color="error"
          onClick={() => setDialog('revoke')}
          disabled={n.state === 'revoked'}
          title={n.state === 'revoked' ? 'already revoked' : undefined}
          data-testid="node-revoke"
        >
          Revoke
        </GatedButton>
        <RoleNote
          channels={['nodes.cordon', 'nodes.label', 'nodes.setModel', 'identity.revokeNode']}
          what="changing this node"
        />
      </Stack>
      {cordon.error ? <ProblemAlert error={cordon.error} /> : null}
      <Grid container spacing={2}>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Identity" testId="node-identity">
            <Identity d={d} />
          </Section>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Presence" testId="node-presence">
            <Typography variant="body2" color="text.secondary" gutterBottom>
              Last seen <Ago at={n.lastSeenAt} />; stale after {d.staleAfterSeconds} s, offline after{' '}
              {d.offlineAfterSeconds} s without a word.
            </Typography>
            {d.presenceHistory.length === 0 ? (
              <Typography variant="body2" color="text.secondary">
                No presence history yet.
              </Typography>
            ) : (
              <List
                dense
                disablePadding
                data-testid="presence-history"
                sx={{ maxHeight: 220, overflow: 'auto' }}
              >
                {d.presenceHistory.map((p) => (
                  <ListItem key={`${p.at}-${p.presence}`} disableGutters>
                    <ListItemText primary={`${p.presence}`} secondary={<Ago at={p.at} />} />
                  </ListItem>
                ))}
              </List>
            )}
          </Section>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Labels" testId="node-labels-section">
            <Typography variant="body2" color="text.secondary">
              Set by an operator
            </Typography>
            <Box sx={{ mb: 1 }} data-testid="operator-labels">
              {Object.keys(n.labels).length ? <LabelChips labels={n.labels} reported={{}} /> : 'none'}
            </Box>
            <Typography variant="body2" color="text.secondary">
              Reported by the node
            </Typography>
            <Box data-testid="reported-labels">
              {Object.keys(n.reportedLabels).length ? (
                <LabelChips labels={{}} reported={n.reportedLabels} />
              ) : (
                'none'
              )}
            </Box>
          </Section>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Device" testId="node-device">
            <Facts
              rows={[
                [
                  'Model',
                  d.model ? (
                    <Link key="model" href="#/devices">
                      {d.model.name} ({d.model.vendor} {d.model.modelNumber})
                    </Link>
                  ) : (
                    'not set'
                  ),
                ],
                ['Capacity', capacitySummary(n.capacity) || 'not reported'],
                ['Capabilities', <Ago key="caps" at={n.capabilitiesAt} />],
                [
                  'Child devices',
                  n.children.length === 0
                    ? 'none'
                    : n.children.map((c) => (
                        <div key={c.deviceId}>
                          <code>{c.deviceId}</code> · <Ago at={c.updatedAt} />
                        </div>
                      )),
                ],
              ]}
            />
          </Section>
        </Grid>
        {d.mcus.length > 0 ? (
          <Grid size={12}>
            <Section title="Microcontrollers" testId="node-mcus">
              <Mcus mcus={d.mcus} />
            </Section>
          </Grid>
        ) : null}
        {d.mcu ? (
          <Grid size={12}>
            <Section title="Microcontroller" testId="node-mcu">
              <Facts
                rows={[
                  [
                    'Host',
                    <Link key="host" href={`#/nodes/${encodeURIComponent(d.parent ?? '')}`}>
                      {d.parent}
                    </Link>,
                  ],
                  ['Port', d.mcu.port ?? 'unknown'],
                  ['Board', d.mcu.board ?? 'unknown'],
                  ['Firmware', `${d.mcu.firmware ?? 'unknown'}${d.mcu.ocre ? ` · Ocre ${d.mcu.ocre}` : ''}`],
                  ['Connection', d.mcu.since !== null ? <Ago key="since" at={d.mcu.since} /> : 'unknown'],
                  [
                    'Resets',
                    d.mcu.lastResetAt !== null ? (
                      <span key="resets">
                        {d.mcu.resets}, last <Ago at={d.mcu.lastResetAt} />
                      </span>
                    ) : (
                      'none seen'
                    ),
                  ],
                  ...(d.mcu.presence === 'offline' && d.mcu.lastError
                    ? [['Why offline', d.mcu.lastError] as [string, ReactNode]]
                    : []),
                ]}
              />
            </Section>
          </Grid>
        ) : null}
        <Grid size={12}>
          <Section title="Workloads" testId="node-workloads">
            <Workloads d={d} />
            <Alert severity="info" sx={{ mt: 1 }} data-testid="node-output">
              {d.output.reason}
            </Alert>
          </Section>
        </Grid>
        <Grid size={12}>
          <Section title="Why not this node" testId="node-fit">
            <WhyNot name={n.name} />
          </Section>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Recent events" testId="node-events">
            <List dense disablePadding sx={{ maxHeight: 320, overflow: 'auto' }}>
              {d.events.map((e, i) => (
                <ListItem key={`${e.at}-${i}`} disableGutters data-testid="node-event" data-kind={e.kind}>
                  <ListItemText primary={e.text} secondary={<Ago at={e.at} />} />
                </ListItem>
              ))}
            </List>
          </Section>
        </Grid>
        <Grid size={{ xs: 12, md: 6 }}>
          <Section title="Audit entries" testId="node-audit">
            {d.audit.length === 0 ? (
              <Typography variant="body2" color="text.secondary">
                None.
              </Typography>
            ) : (
              <List dense disablePadding sx={{ maxHeight: 320, overflow: 'auto' }}>
                {d.audit.map((a) => (
                  <ListItem key={a.seq} disableGutters data-testid="node-audit-entry">
                    <ListItemText
                      primary={`${a.action} by ${a.actor}${a.result === 'error' ? ` failed: ${a.errorMessage ?? a.errorCode ?? ''}` : ''}`}
                      secondary={<Ago at={a.at} />}
                    />
                  </ListItem>
                ))}
              </List>
            )}
          </Section>
        </Grid>
      </Grid>
      {dialog === 'labels' ? <EditLabelsDialog node={n} onClose={() => setDialog(null)} /> : null}
      {dialog === 'model' ? (
        <SetModelDialog node={n} models={models.data?.models ?? []} onClose={() => setDialog(null)} />
      ) : null}
      <ConfirmDialog
        open={dialog === 'revoke'}
        title={`Revoke node ${n.name}?`}
        confirmLabel="Revoke"
        onClose={() => setDialog(null)}
        onConfirm={async () => {
          await api.identity.revokeNode({ name: n.name });
          await qc.invalidateQueries({ queryKey: ['nodes'] });
        }}
      >
        Its SVIDs are denied from its next request on and its unused enrollment tokens die with it. To bring
        it back, remove it and enroll it again.
      </ConfirmDialog>
    </Box>
  );
}
