import { useQuery } from '@tanstack/react-query';
import { Box, Card, CardContent, Table, TableBody, TableCell, TableRow, Typography } from '@mui/material';
import { api, apiMode } from '../../api.js';
import { formatAge, formatTime } from '../../format.js';
import { useNow } from '../../live.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';

export function SettingsPage() {
  const now = useNow();
  const q = useQuery({ queryKey: ['system', 'status'], queryFn: () => api.system.status({}) });
  // The site CA (its end is on the Dashboard's attention list when near): renewed with the CLI.
  const ca = useQuery({ queryKey: ['system', 'ca'], queryFn: () => api.identity.ca({}) });
  if (q.error) return <ErrorAlert error={q.error} />;
  const s = q.data;
  const rows: [string, string][] = s
    ? [
        ['Console', apiMode === 'desktop' ? 'desktop app (IPC)' : 'web portal (HTTP)'],
        ['Role', `${s.role} (${s.roles.join(', ')})`],
        ['Site', `${s.site.name} (${s.site.id})`],
        ['Data directory', s.home ?? 'shown to administrators only'],
        [
          'Database',
          s.database.file
            ? `${s.database.file}, schema ${s.database.schemaVersion}`
            : `schema ${s.database.schemaVersion}`,
        ],
        [
          'Site CA',
          !ca.data
            ? ''
            : ca.data.initialized && ca.data.notAfter !== null
              ? `${ca.data.fingerprint ?? ''}; ${ca.data.notAfter > now ? `expires ${formatTime(ca.data.notAfter)} (in ${formatAge(ca.data.notAfter - now)})` : `EXPIRED ${formatTime(ca.data.notAfter)}`}; an administrator renews it with edgectl site init-ca --force`
              : 'not created yet (made when this server first serves a site)',
        ],
        [
          'NATS',
          s.nats
            ? `${s.nats.state}${s.nats.url ? ` at ${s.nats.url}` : ''}${s.nats.message ? `: ${s.nats.message}` : ''}; for ${formatAge(s.now - s.nats.since)}; ${s.nats.restarts} restarts`
            : 'not configured',
        ],
      ]
    : [];
  return (
    <Box>
      <Typography variant="h5" component="h1" gutterBottom>
        Settings
      </Typography>
      <Card variant="outlined">
        <CardContent>
          <Table size="small">
            <TableBody>
              {rows.map(([k, v]) => (
                <TableRow key={k}>
                  <TableCell sx={{ width: 200, fontWeight: 600 }}>{k}</TableCell>
                  <TableCell data-testid={`setting-${k.toLowerCase().replace(/\s+/g, '-')}`}>{v}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
          <Typography variant="caption" color="text.secondary">
            shown {formatAge(Math.max(0, now - (q.dataUpdatedAt || now)))} after fetch; settings are changed
            in &lt;home&gt;/config.yaml
          </Typography>
        </CardContent>
      </Card>
    </Box>
  );
}
