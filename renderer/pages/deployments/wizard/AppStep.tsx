import { useDeferredValue, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Chip,
  InputAdornment,
  List,
  ListItem,
  ListItemAvatar,
  ListItemButton,
  ListItemText,
  Skeleton,
  Stack,
  TextField,
} from '@mui/material';
import SearchIcon from '@mui/icons-material/Search';
import type { AppSummary } from '../../../../lib/contract/index.js';
import { api } from '../../../api.js';
import { EntityAvatar } from '../../../components/EntityAvatar.js';
import { ErrorAlert } from '../../../components/ErrorAlert.js';

/** Step 1: the application, from a searchable list of the App Store (the server searches). */
export function AppStep({ appId, onPick }: { appId: string | null; onPick: (app: AppSummary) => void }) {
  const [search, setSearch] = useState('');
  const deferred = useDeferredValue(search.trim());
  const q = useQuery({
    queryKey: ['apps', 'list', deferred],
    queryFn: () => api.apps.list(deferred ? { search: deferred } : {}),
    placeholderData: (prev) => prev,
  });
  const apps = q.data?.apps;
  return (
    <Box>
      <TextField
        size="small"
        placeholder="Search by name, id, tagline or vendor"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
        sx={{ mb: 1, width: 420, maxWidth: '100%' }}
        slotProps={{
          input: {
            startAdornment: (
              <InputAdornment position="start">
                <SearchIcon fontSize="small" />
              </InputAdornment>
            ),
          },
          htmlInput: { 'data-testid': 'wizard-app-search', 'aria-label': 'search applications' },
        }}
      />
      {q.error ? <ErrorAlert error={q.error} /> : null}
      {!apps ? (
        q.error ? null : (
          <Skeleton variant="rectangular" height={120} />
        )
      ) : apps.length === 0 ? (
        <Alert severity="info" data-testid="wizard-no-apps">
          {deferred
            ? `No application matches "${deferred}".`
            : 'The App Store is empty: add an application first.'}
        </Alert>
      ) : (
        <List dense sx={{ maxHeight: 420, overflow: 'auto' }} data-testid="wizard-apps">
          {apps.map((a) => (
            // Each choice in a list item: a list holds only items (a button alone is not one).
            <ListItem key={a.id} disablePadding>
              <ListItemButton
                selected={a.id === appId}
                onClick={() => onPick(a)}
                data-testid="wizard-app"
                data-app-id={a.id}
              >
                <ListItemAvatar>
                  <EntityAvatar icon={a.icon} name={a.name} size={40} testId="wizard-app-icon" />
                </ListItemAvatar>
                <ListItemText
                  primary={a.name}
                  secondary={`${a.id} · ${a.latestVersion}${a.tagline ? ` · ${a.tagline}` : ''}`}
                />
                <Stack direction="row" spacing={0.5}>
                  {a.profileTypes.map((t) => (
                    <Chip key={t} size="small" variant="outlined" color="secondary" label={t} />
                  ))}
                </Stack>
              </ListItemButton>
            </ListItem>
          ))}
        </List>
      )}
    </Box>
  );
}
