import { useState, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Accordion,
  AccordionDetails,
  AccordionSummary,
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Chip,
  Link,
  MenuItem,
  Skeleton,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import ArrowBackIcon from '@mui/icons-material/ArrowBack';
import DeleteIcon from '@mui/icons-material/Delete';
import ExpandMoreIcon from '@mui/icons-material/ExpandMore';
import type { AppVersion } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { navigate } from '../../router.js';
import { formatTime } from '../../format.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { EntityAvatar } from '../../components/EntityAvatar.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { FetchedAge } from '../../components/PageHeader.js';
import { ProfileView } from './ProfileView.js';
import { ConfigurationView, ParametersView } from './ConfigurationView.js';
import { appPath } from './routes.js';
import { RoleGate } from '../../components/RoleGate.js';

/** One application version: metadata, deployment profiles, parameters and configuration. */
export function AppDetail({ id, version }: { id: string; version?: string | undefined }) {
  const qc = useQueryClient();
  const [removing, setRemoving] = useState(false);
  const q = useQuery({
    queryKey: ['apps', 'get', id, version ?? ''],
    queryFn: () => api.apps.get(version ? { id, version } : { id }),
  });
  const back = (
    <Button
      startIcon={<ArrowBackIcon />}
      onClick={() => navigate('/apps')}
      sx={{ mb: 1 }}
      data-testid="back-to-store"
    >
      App Store
    </Button>
  );
  if (q.error)
    return (
      <Box>
        {back}
        <ErrorAlert error={q.error} />
      </Box>
    );
  if (!q.data)
    return (
      <Box>
        {back}
        <Skeleton variant="rectangular" height={240} />
      </Box>
    );
  const { app, version: v, original } = q.data;
  const d = v.description;
  const versions = [...app.versions].reverse();

  return (
    <Box data-testid="app-detail" data-app-id={app.id} data-version={v.version}>
      {back}
      <Stack direction="row" spacing={2} sx={{ alignItems: 'center', mb: 2 }}>
        <EntityAvatar icon={app.icon} name={d.metadata.name} size={64} testId="app-detail-icon" />
        <Box sx={{ flexGrow: 1, minWidth: 0 }}>
          <Typography variant="h5" component="h1" data-testid="app-detail-name">
            {d.metadata.name}
          </Typography>
          <Typography variant="body2" color="text.secondary">
            {app.id}
            {d.metadata.catalog.application?.tagline ? ` · ${d.metadata.catalog.application.tagline}` : ''}
          </Typography>
          <Typography variant="caption" color="text.secondary">
            <FetchedAge updatedAt={q.dataUpdatedAt} />
          </Typography>
        </Box>
        <TextField
          select
          size="small"
          label="Version"
          value={v.version}
          onChange={(e) => navigate(appPath(app.id, e.target.value))}
          sx={{ minWidth: 140 }}
          slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'version-select' } as object } }}
        >
          {versions.map((x) => (
            <MenuItem key={x} value={x} data-testid="version-option">
              {x}
              {x === app.latestVersion ? ' (newest)' : ''}
            </MenuItem>
          ))}
        </TextField>
        <RoleGate channel="apps.remove" action="Remove version">
          <Button
            color="error"
            variant="outlined"
            startIcon={<DeleteIcon />}
            onClick={() => setRemoving(true)}
            data-testid="remove-version"
          >
            Remove {v.version}
          </Button>
        </RoleGate>
      </Stack>

      <Stack spacing={2}>
        <About version={v} />
        <Section title="Deployment profiles" testId="profiles">
          <Stack spacing={2}>
            {d.deploymentProfiles.map((p) => (
              <ProfileView key={p.id} profile={p} />
            ))}
          </Stack>
        </Section>
        <Section title="Parameters" testId="parameters">
          <ParametersView parameters={d.parameters} />
        </Section>
        <Section title="Configuration" testId="configuration">
          <ConfigurationView configuration={d.configuration} />
        </Section>
        <Accordion variant="outlined" disableGutters>
          <AccordionSummary expandIcon={<ExpandMoreIcon />}>
            <Typography>margo.yaml as registered</Typography>
          </AccordionSummary>
          <AccordionDetails>
            <Box
              component="pre"
              data-testid="original"
              sx={{
                m: 0,
                p: 1,
                bgcolor: 'grey.100',
                borderRadius: 1,
                overflow: 'auto',
                maxHeight: 480,
                fontSize: 12,
              }}
            >
              {original}
            </Box>
          </AccordionDetails>
        </Accordion>
      </Stack>

      <ConfirmDialog
        open={removing}
        title={`Remove ${d.metadata.name} ${v.version}?`}
        onClose={() => setRemoving(false)}
        onConfirm={async () => {
          const r = await api.apps.remove({ id: app.id, version: v.version });
          navigate(r.appRemoved ? '/apps' : appPath(app.id));
          await qc.invalidateQueries({ queryKey: ['apps'] });
        }}
      >
        {app.versions.length === 1
          ? 'This is its only version: the application leaves the App Store.'
          : `The other versions (${app.versions.filter((x) => x !== v.version).join(', ')}) stay.`}{' '}
        A version that deployments use cannot be removed.
      </ConfirmDialog>
    </Box>
  );
}

export function Section({ title, testId, children }: { title: string; testId: string; children: ReactNode }) {
  return (
    <Card variant="outlined" data-testid={testId}>
      <CardContent>
        <Typography variant="h6" gutterBottom>
          {title}
        </Typography>
        {children}
      </CardContent>
    </Card>
  );
}

function About({ version: v }: { version: AppVersion }) {
  const d = v.description;
  const cat = d.metadata.catalog;
  const rows: [string, ReactNode][] = [];
  if (d.metadata.description) rows.push(['Description', d.metadata.description]);
  rows.push([
    'Organization',
    <Stack key="org" direction="row" spacing={1}>
      {cat.organization.map((o, i) => (
        <span key={i} data-testid="organization">
          {o.site ? <ExternalLink href={o.site}>{o.name}</ExternalLink> : o.name}
        </span>
      ))}
    </Stack>,
  ]);
  if (cat.author?.length)
    rows.push([
      'Authors',
      cat.author.map((a) => [a.name, a.email ? `<${a.email}>` : ''].filter(Boolean).join(' ')).join(', '),
    ]);
  if (cat.application?.site) rows.push(['Site', <ExternalLink key="site" href={cat.application.site} />]);
  if (cat.application?.tags?.length)
    rows.push([
      'Tags',
      <Stack key="tags" direction="row" spacing={0.5} sx={{ flexWrap: 'wrap', rowGap: 0.5 }}>
        {cat.application.tags.map((t) => (
          <Chip key={t} size="small" label={t} data-testid="tag" />
        ))}
      </Stack>,
    ]);
  const s = v.source;
  rows.push([
    'Source',
    <span key="src" data-testid="source">
      {s.kind === 'git' ? 'git ' : 'upload '}
      <code>{s.location}</code>
      {s.path ? (
        <>
          {' '}
          path <code>{s.path}</code>
        </>
      ) : null}
      {s.ref ? (
        <>
          {' '}
          ref <code>{s.ref}</code>
        </>
      ) : null}
      {s.commit ? (
        <>
          {' '}
          commit <code>{s.commit.slice(0, 12)}</code>
        </>
      ) : null}
    </span>,
  ]);
  rows.push([
    'Digest',
    <code key="digest" data-testid="digest" style={{ overflowWrap: 'anywhere' }}>
      {v.digest}
    </code>,
  ]);
  rows.push(['Added', `${formatTime(v.createdAt)} by ${v.createdBy}`]);
  return (
    <Section title="About" testId="about">
      <Table size="small">
        <TableBody>
          {rows.map(([k, val]) => (
            <TableRow key={k}>
              <TableCell sx={{ width: 160, fontWeight: 600, verticalAlign: 'top' }}>{k}</TableCell>
              <TableCell>{val}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {v.warnings.length > 0 ? (
        <Alert severity="warning" sx={{ mt: 2 }} data-testid="warnings">
          {v.warnings.length === 1 ? 'One warning' : `${v.warnings.length} warnings`} when it was read:
          <Box component="ul" sx={{ m: 0, pl: 2 }}>
            {v.warnings.map((w, i) => (
              <li key={i} data-testid="warning">
                <code>{w.path}</code>: {w.message}
                {w.line !== undefined ? (
                  <small>
                    {' '}
                    (line {w.line}
                    {w.column !== undefined ? `, column ${w.column}` : ''})
                  </small>
                ) : null}
              </li>
            ))}
          </Box>
        </Alert>
      ) : null}
    </Section>
  );
}

function ExternalLink({ href, children }: { href: string; children?: ReactNode }) {
  return /^https?:\/\//i.test(href) ? (
    <Link href={href} target="_blank" rel="noopener noreferrer">
      {children ?? href}
    </Link>
  ) : (
    <span>{children ?? href}</span>
  );
}
