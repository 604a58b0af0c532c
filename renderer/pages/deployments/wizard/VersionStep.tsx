import {
  Box,
  Card,
  CardActionArea,
  CardContent,
  Chip,
  MenuItem,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import type { AppVersion } from '../../../../lib/contract/index.js';

type Profile = AppVersion['description']['deploymentProfiles'][number];

export function runtimeOf(p: Profile): string | null {
  const ours = p.extensions?.['x-outpost-extensions'] as { runtime?: unknown } | undefined;
  return typeof ours?.runtime === 'string' ? ours.runtime : null;
}

/** Step 2: the version (newest first) and one of its deployment profiles. */
export function VersionStep({
  versions,
  newest,
  version,
  onVersion,
  description,
  profileId,
  onProfile,
}: {
  versions: string[];
  newest: string;
  version: string;
  onVersion: (v: string) => void;
  description: AppVersion['description'] | undefined;
  profileId: string | null;
  onProfile: (id: string) => void;
}) {
  return (
    <Stack spacing={2}>
      <TextField
        select
        size="small"
        label="Version"
        value={version}
        onChange={(e) => onVersion(e.target.value)}
        sx={{ width: 220 }}
        slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'wizard-version' } as object } }}
      >
        {versions.map((v) => (
          <MenuItem key={v} value={v} data-testid="wizard-version-option" data-value={v}>
            {v}
            {v === newest ? ' (newest)' : ''}
          </MenuItem>
        ))}
      </TextField>
      <Typography variant="subtitle2">Deployment profile</Typography>
      <Stack direction="row" spacing={2} sx={{ flexWrap: 'wrap', rowGap: 2 }}>
        {(description?.deploymentProfiles ?? []).map((p) => {
          const runtime = runtimeOf(p);
          const selected = p.id === profileId;
          return (
            <Card
              key={p.id}
              variant="outlined"
              sx={{
                width: 300,
                borderColor: selected ? 'primary.main' : undefined,
                borderWidth: selected ? 2 : 1,
              }}
              data-testid="wizard-profile"
              data-profile-id={p.id}
              data-selected={String(selected)}
            >
              <CardActionArea onClick={() => onProfile(p.id)} sx={{ height: '100%' }}>
                <CardContent>
                  <Stack direction="row" spacing={1} sx={{ alignItems: 'center', mb: 1 }}>
                    <Typography variant="subtitle1" sx={{ fontWeight: 600 }}>
                      {p.id}
                    </Typography>
                    <Chip size="small" color="secondary" label={p.type} data-testid="wizard-profile-type" />
                    {runtime ? <Chip size="small" variant="outlined" label={`runtime ${runtime}`} /> : null}
                  </Stack>
                  {p.description ? (
                    <Typography variant="body2" color="text.secondary" gutterBottom>
                      {p.description}
                    </Typography>
                  ) : null}
                  <Box>
                    <Typography variant="caption" color="text.secondary">
                      components: {p.components.map((c) => c.name).join(', ')}
                    </Typography>
                  </Box>
                </CardContent>
              </CardActionArea>
            </Card>
          );
        })}
      </Stack>
    </Stack>
  );
}
