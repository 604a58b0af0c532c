import { Box, Card, CardActionArea, CardContent, Chip, Stack, Typography } from '@mui/material';
import type { AppSummary } from '../../../lib/contract/index.js';
import { navigate } from '../../router.js';
import { EntityAvatar } from '../../components/EntityAvatar.js';
import { appPath } from './routes.js';

/** One application of the store: icon, name, tagline, vendor, versions and profile types. */
export function AppCard({ app }: { app: AppSummary }) {
  const versions = [...app.versions].reverse();
  return (
    <Card variant="outlined" data-testid="app-card" data-app-id={app.id} sx={{ height: '100%' }}>
      <CardActionArea
        onClick={() => navigate(appPath(app.id))}
        sx={{ height: '100%', alignItems: 'flex-start' }}
      >
        <CardContent>
          <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start' }}>
            <EntityAvatar icon={app.icon} name={app.name} testId="app-icon" />
            <Box sx={{ minWidth: 0 }}>
              <Typography variant="h6" data-testid="app-name" noWrap>
                {app.name}
              </Typography>
              <Typography variant="caption" color="text.secondary" component="div" noWrap>
                {app.id}
                {app.vendor ? ` · ${app.vendor}` : ''}
              </Typography>
            </Box>
          </Stack>
          <Typography variant="body2" sx={{ mt: 1.5, minHeight: 40 }} data-testid="app-tagline">
            {app.tagline ?? <span style={{ opacity: 0.6 }}>no tagline</span>}
          </Typography>
          <Stack direction="row" spacing={0.5} sx={{ flexWrap: 'wrap', rowGap: 0.5, mt: 1 }}>
            {versions.map((v) => (
              <Chip
                key={v}
                size="small"
                label={v}
                color={v === app.latestVersion ? 'primary' : 'default'}
                variant={v === app.latestVersion ? 'filled' : 'outlined'}
                data-testid="version-chip"
                data-version={v}
              />
            ))}
          </Stack>
          <Stack direction="row" spacing={0.5} sx={{ flexWrap: 'wrap', rowGap: 0.5, mt: 1 }}>
            {app.profileTypes.map((t) => (
              <Chip
                key={t}
                size="small"
                color="secondary"
                variant="outlined"
                label={t}
                data-testid="profile-chip"
              />
            ))}
          </Stack>
        </CardContent>
      </CardActionArea>
    </Card>
  );
}
