import { useDeferredValue, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Alert, Box, Button, Grid, InputAdornment, Skeleton, TextField } from '@mui/material';
import AddIcon from '@mui/icons-material/Add';
import SearchIcon from '@mui/icons-material/Search';
import { api } from '../../api.js';
import { useRoute } from '../../router.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { FetchedAge, PageHeader } from '../../components/PageHeader.js';
import { AppCard } from './AppCard.js';
import { AddAppDialog } from './AddAppDialog.js';
import { AppDetail } from './AppDetail.js';
import { parseAppRoute } from './routes.js';

export function AppStorePage() {
  const route = useRoute();
  const detail = parseAppRoute(route);
  return detail ? <AppDetail key={detail.id} id={detail.id} version={detail.version} /> : <AppStore />;
}

function AppStore() {
  const [search, setSearch] = useState('');
  const [adding, setAdding] = useState(false);
  const deferred = useDeferredValue(search.trim());
  const q = useQuery({
    queryKey: ['apps', 'list', deferred],
    queryFn: () => api.apps.list(deferred ? { search: deferred } : {}),
    placeholderData: (prev) => prev,
  });
  const apps = q.data?.apps;
  return (
    <Box>
      <PageHeader
        title="App Store"
        text="Applications registered from Margo application descriptions, with every version kept."
        age={<FetchedAge updatedAt={q.dataUpdatedAt} />}
        actions={
          <Button
            variant="contained"
            startIcon={<AddIcon />}
            onClick={() => setAdding(true)}
            data-testid="add-app"
          >
            Add application
          </Button>
        }
      />
      <TextField
        size="small"
        placeholder="Search by name, id, tagline or vendor"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
        sx={{ mb: 2, width: 420, maxWidth: '100%' }}
        slotProps={{
          input: {
            startAdornment: (
              <InputAdornment position="start">
                <SearchIcon fontSize="small" />
              </InputAdornment>
            ),
          },
          htmlInput: { 'data-testid': 'app-search', 'aria-label': 'search applications' },
        }}
      />
      {q.error ? <ErrorAlert error={q.error} /> : null}
      {!apps ? (
        q.error ? null : (
          <Skeleton variant="rectangular" height={160} />
        )
      ) : apps.length === 0 ? (
        <Alert severity="info" data-testid="no-apps">
          {deferred
            ? `No application matches "${deferred}".`
            : 'No application yet. Add one from a margo.yaml file or a git repository, or with "edgectl co add app".'}
        </Alert>
      ) : (
        <Grid container spacing={2} data-testid="app-grid">
          {apps.map((a) => (
            <Grid key={a.id} size={{ xs: 12, sm: 6, lg: 4, xl: 3 }}>
              <AppCard app={a} />
            </Grid>
          ))}
        </Grid>
      )}
      <AddAppDialog open={adding} onClose={() => setAdding(false)} />
    </Box>
  );
}
