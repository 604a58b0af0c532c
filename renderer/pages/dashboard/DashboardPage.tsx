import { Suspense, lazy, useEffect, useState } from 'react';
import { useQuery, type QueryClient } from '@tanstack/react-query';
import { Alert, Box, Card, CardContent, Chip, Grid, Skeleton, Stack, Typography } from '@mui/material';
import { api } from '../../api.js';
import { formatAge } from '../../format.js';
import { useNow } from '../../live.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { useRefetchOn } from '../deployments/use-refetch-on.js';
import { AttentionList } from './AttentionList.js';
import { ATTENTION_INPUT } from '../../early-calls.js';
const HealthCharts = lazy(() => import('./HealthCharts.js').then((m) => ({ default: m.HealthCharts })));

const ATTENTION_KEY = ['metrics', 'attention'] as const;

/**
 * Starts the Dashboard's queries together with the sign-in check (system.whoami) when the console opens
 * on the Dashboard, instead of after it (the page renders only once the server said who is signed in):
 * the first view waits for one round of answers, not two.
 */
export function prefetchDashboard(queryClient: QueryClient): Promise<void>[] {
  return [
    queryClient.prefetchQuery({ queryKey: ['system', 'status'], queryFn: () => api.system.status({}) }),
    queryClient.prefetchQuery({
      queryKey: ATTENTION_KEY,
      queryFn: () => api.health.attention(ATTENTION_INPUT),
    }),
  ];
}

/** What needs attention, worst first (health.attention), refreshed when the fleet changes. */
function Attention() {
  const q = useQuery({
    queryKey: ATTENTION_KEY,
    queryFn: () => api.health.attention(ATTENTION_INPUT),
    // Presence changes without an event between samples: ask again every 15 s as well.
    refetchInterval: 15_000,
  });
  useRefetchOn('nodes', ATTENTION_KEY);
  useRefetchOn('deployments', ATTENTION_KEY);
  useRefetchOn('sites', ATTENTION_KEY);
  const c = q.data?.bySeverity;
  return (
    <Card variant="outlined">
      <CardContent>
        <Stack direction="row" spacing={1} sx={{ alignItems: 'baseline', mb: 1, flexWrap: 'wrap' }}>
          <Typography variant="h6" component="h2">
            Needs attention
          </Typography>
          {c ? (
            <Typography variant="body2" color="text.secondary" data-testid="attention-counts">
              {c.critical} critical · {c.warning} warning · {c.info} info
            </Typography>
          ) : null}
        </Stack>
        {q.error ? (
          <ErrorAlert error={q.error} />
        ) : q.data ? (
          <AttentionList items={q.data.items} more={q.data.more} />
        ) : (
          <Skeleton variant="rectangular" height={80} />
        )}
      </CardContent>
    </Card>
  );
}

/**
 * True once the page has been painted: what may wait for it (the charts' library, a large chunk) does not
 * compete with the first view for the main thread (ADR 0234).
 */
function usePainted(): boolean {
  const [painted, setPainted] = useState(false);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // The frame after this one is drawn; the timer then runs after that paint.
    const frame = requestAnimationFrame(() => (timer = setTimeout(() => setPainted(true), 0)));
    return () => {
      cancelAnimationFrame(frame);
      if (timer !== undefined) clearTimeout(timer);
    };
  }, []);
  return painted;
}

function Stat({ label, value, testId }: { label: string; value: string | number; testId: string }) {
  return (
    <Card variant="outlined">
      <CardContent>
        <Typography variant="overline" color="text.secondary">
          {label}
        </Typography>
        <Typography variant="h4" data-testid={testId}>
          {value}
        </Typography>
      </CardContent>
    </Card>
  );
}

export function DashboardPage() {
  const now = useNow();
  const painted = usePainted();
  const q = useQuery({
    queryKey: ['system', 'status'],
    queryFn: () => api.system.status({}),
    refetchInterval: 5000,
  });
  if (q.error) return <ErrorAlert error={q.error} />;
  const s = q.data;
  // The age of this view: how long since the status was fetched.
  const age = q.dataUpdatedAt ? Math.max(0, now - q.dataUpdatedAt) : NaN;
  return (
    <Box>
      <Stack direction="row" spacing={2} sx={{ alignItems: 'baseline', mb: 2 }}>
        <Typography variant="h5" component="h1">
          Dashboard
        </Typography>
        <Typography variant="body2" color="text.secondary" data-testid="status-age">
          {s ? `updated ${formatAge(age)} ago` : 'loading'}
        </Typography>
      </Stack>
      {!s ? (
        <Skeleton variant="rectangular" height={180} />
      ) : (
        <Stack spacing={3}>
          <Attention />
          <Card variant="outlined">
            <CardContent>
              <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', alignItems: 'center' }}>
                <Typography variant="h6" component="h2">
                  Outpost
                </Typography>
                <Chip label={`version ${s.version}`} data-testid="version" data-value={s.version} />
                <Chip label={`role ${s.role}`} color="primary" data-testid="role" data-value={s.role} />
                {s.roles.map((r) => (
                  <Chip
                    key={r}
                    variant="outlined"
                    label={r === 'co' ? 'Central Orchestrator' : 'Local Orchestrator'}
                  />
                ))}
                <Chip variant="outlined" label={`site ${s.site.name}`} />
                <Chip variant="outlined" label={`tenant ${s.tenant}`} data-testid="tenant" />
              </Stack>
              <Typography variant="body2" color="text.secondary" sx={{ mt: 1 }}>
                up {formatAge(s.uptimeSeconds * 1000 + Math.max(0, now - (q.dataUpdatedAt || now)))} ·{' '}
                {s.home ? (
                  <>
                    data in <code>{s.home}</code> ·{' '}
                  </>
                ) : null}
                database schema {s.database.schemaVersion} ·{' '}
                <span data-testid="nats-state">
                  NATS{' '}
                  {s.nats
                    ? `${s.nats.state}${s.nats.message ? ` (${s.nats.message})` : ''}`
                    : 'not configured'}
                </span>
              </Typography>
            </CardContent>
          </Card>
          {s.desiredState?.lastError ? (
            s.desiredState.lastErrorKind === 'unreachable' || s.desiredState.lastErrorKind === 'error' ? (
              <Alert severity="warning" data-testid="desired-state-unreachable">
                The desired-state source{' '}
                {s.desiredState.lastErrorKind === 'unreachable' ? 'cannot be reached' : 'fails'}
                {(s.desiredState.failingSince ?? s.desiredState.lastErrorAt)
                  ? ` since ${formatAge(s.now - (s.desiredState.failingSince ?? s.desiredState.lastErrorAt)!)} ago`
                  : ''}
                ; this site keeps serving commit {s.desiredState.commit?.slice(0, 12) ?? '(none)'}
                {s.desiredState.adoptedAt
                  ? `, adopted ${formatAge(s.now - s.desiredState.adoptedAt)} ago`
                  : ''}
                : {s.desiredState.lastError}
              </Alert>
            ) : (
              <Alert severity="error" data-testid="desired-state-refused">
                The desired state was refused
                {s.desiredState.lastErrorAt ? ` ${formatAge(s.now - s.desiredState.lastErrorAt)} ago` : ''};
                this site keeps serving commit {s.desiredState.commit?.slice(0, 12) ?? '(none)'}:{' '}
                {s.desiredState.lastError}
              </Alert>
            )
          ) : null}
          <Grid container spacing={2}>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat label="Apps" value={s.counts.apps} testId="count-apps" />
            </Grid>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat label="Device models" value={s.counts.deviceModels} testId="count-device-models" />
            </Grid>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat label="Sites" value={s.counts.sites} testId="count-sites" />
            </Grid>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat label="Nodes" value={s.counts.nodes} testId="count-nodes" />
            </Grid>
            <Grid size={{ xs: 6, md: 2 }}>
              <Stat label="Deployments" value={s.counts.deployments} testId="count-deployments" />
            </Grid>
          </Grid>
          {/* The charts library is a chunk of its own, asked for once the first view is painted: the
              attention list does not wait for it. */}
          <Suspense fallback={<Skeleton variant="rectangular" height={200} />}>
            {painted ? <HealthCharts /> : <Skeleton variant="rectangular" height={200} />}
          </Suspense>
        </Stack>
      )}
    </Box>
  );
}
