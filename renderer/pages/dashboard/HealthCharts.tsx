import { useQuery } from '@tanstack/react-query';
import { Box, Card, CardContent, Grid, Skeleton, Stack, Typography, useTheme } from '@mui/material';
import { LineChart } from '@mui/x-charts/LineChart';
import { api } from '../../api.js';
import { formatTime } from '../../format.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import type { SeriesPoint } from '../../../lib/contract/index.js';

const HOURS = 24;

function useSeries(series: 'presence' | 'deployments' | 'site') {
  return useQuery({
    queryKey: ['metrics', 'series', series, HOURS],
    queryFn: () => api.health.series({ series, hours: HOURS }),
  });
}

/** A stacked area of counts over time, one band per key (presence, deployment states). */
function StackedChart({
  points,
  keys,
  label,
  testId,
}: {
  points: SeriesPoint[];
  keys: { key: string; label: string; color: string }[];
  label: string;
  testId: string;
}) {
  if (points.length === 0)
    return (
      <Typography variant="body2" color="text.secondary" data-testid={testId} data-points={0}>
        No history yet: the first sample is taken when the server starts, then every minute.
      </Typography>
    );
  const last = points.at(-1)!.values;
  return (
    <Box
      data-testid={testId}
      data-points={points.length}
      role="img"
      aria-label={`${label}, last ${HOURS} hours; now ${keys.map((k) => `${last[k.key] ?? 0} ${k.label}`).join(', ')}`}
    >
      <LineChart
        height={200}
        margin={{ left: 0, right: 16, top: 16, bottom: 0 }}
        xAxis={[
          {
            data: points.map((p) => new Date(p.at)),
            scaleType: 'time',
            valueFormatter: (d: Date) => d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
          },
        ]}
        series={keys.map((k) => ({
          id: k.key,
          label: k.label,
          color: k.color,
          data: points.map((p) => p.values[k.key] ?? 0),
          area: true,
          stack: 'total',
          showMark: false,
        }))}
        hideLegend={false}
      />
    </Box>
  );
}

/** Per site: one cell per sample, filled when the site was reachable, empty when it was not. */
function Reachability({ subjects }: { subjects: { subject: string; points: SeriesPoint[] }[] }) {
  const theme = useTheme();
  if (subjects.length === 0)
    return (
      <Typography variant="body2" color="text.secondary">
        No sites yet.
      </Typography>
    );
  return (
    <Stack spacing={1} data-testid="site-reachability">
      {subjects.map((s) => {
        const up = s.points.filter((p) => p.values.reachable === 1).length;
        const last = s.points.at(-1);
        return (
          <Stack
            key={s.subject}
            direction="row"
            spacing={1}
            sx={{ alignItems: 'center' }}
            data-testid="site-row"
          >
            <Typography variant="body2" sx={{ width: 120, flexShrink: 0 }} noWrap title={s.subject}>
              {s.subject}
            </Typography>
            <Box
              role="img"
              aria-label={`${s.subject}: reachable in ${up} of ${s.points.length} samples${last ? `; now ${last.values.online ?? 0} of ${(last.values.online ?? 0) + (last.values.stale ?? 0) + (last.values.offline ?? 0) + (last.values.unknown ?? 0)} nodes online` : ''}`}
              sx={{ display: 'flex', flexGrow: 1, height: 16, gap: '1px', minWidth: 0 }}
            >
              {s.points.map((p) => (
                // A plain title (hover) per sample: the strip as a whole is one image with its own label.
                <Box
                  key={p.at}
                  title={`${formatTime(p.at)}: ${p.values.reachable === 1 ? 'reachable' : 'unreachable'}, ${p.values.online ?? 0} online, ${p.values.offline ?? 0} offline`}
                  sx={{
                    flex: 1,
                    minWidth: 1,
                    bgcolor: p.values.reachable === 1 ? theme.palette.success.main : 'transparent',
                    border: p.values.reachable === 1 ? 'none' : `1px solid ${theme.palette.error.main}`,
                  }}
                />
              ))}
            </Box>
            <Typography variant="caption" color="text.secondary" sx={{ width: 90, textAlign: 'right' }}>
              {last ? `${last.values.online ?? 0} online` : ''}
            </Typography>
          </Stack>
        );
      })}
    </Stack>
  );
}

/** The Dashboard's plots over the stored history (ADR 0228): presence, deployment outcomes, sites. */
export function HealthCharts() {
  const theme = useTheme();
  const presence = useSeries('presence');
  const deployments = useSeries('deployments');
  const sites = useSeries('site');
  const p = theme.palette;
  const card = (title: string, body: React.ReactNode) => (
    <Card variant="outlined" sx={{ height: '100%' }}>
      <CardContent>
        <Typography variant="h6" component="h2" gutterBottom>
          {title}
        </Typography>
        {body}
      </CardContent>
    </Card>
  );
  const body = (q: ReturnType<typeof useSeries>, render: () => React.ReactNode) =>
    q.error ? (
      <ErrorAlert error={q.error} />
    ) : q.data ? (
      render()
    ) : (
      <Skeleton variant="rectangular" height={200} />
    );
  return (
    <Grid container spacing={2}>
      <Grid size={{ xs: 12, lg: 6 }}>
        {card(
          `Nodes by presence, last ${HOURS} h`,
          body(presence, () => (
            <StackedChart
              testId="chart-presence"
              label="Nodes by presence"
              points={presence.data!.subjects[0]?.points ?? []}
              keys={[
                { key: 'online', label: 'online', color: p.success.main },
                { key: 'stale', label: 'stale', color: p.warning.main },
                { key: 'offline', label: 'offline', color: p.error.main },
                { key: 'unknown', label: 'never seen', color: p.grey[500] },
              ]}
            />
          )),
        )}
      </Grid>
      <Grid size={{ xs: 12, lg: 6 }}>
        {card(
          `Deployment outcomes, last ${HOURS} h`,
          body(deployments, () => (
            <StackedChart
              testId="chart-deployments"
              label="Deployment targets by state"
              points={deployments.data!.subjects[0]?.points ?? []}
              keys={[
                { key: 'installed', label: 'installed', color: p.success.main },
                { key: 'installing', label: 'installing', color: p.info.main },
                { key: 'pending', label: 'pending', color: p.grey[500] },
                { key: 'failed', label: 'failed', color: p.error.main },
              ]}
            />
          )),
        )}
      </Grid>
      <Grid size={12}>
        {card(
          `Site reachability, last ${HOURS} h`,
          body(sites, () => <Reachability subjects={sites.data!.subjects} />),
        )}
      </Grid>
    </Grid>
  );
}
