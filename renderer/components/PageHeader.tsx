import type { ReactNode } from 'react';
import { Box, Stack, Typography } from '@mui/material';
import { formatAge } from '../format.js';
import { useTick } from './ticker.js';

/** Title, one line of explanation, and the page's main actions on the right. */
export function PageHeader({
  title,
  text,
  actions,
  age,
}: {
  title: string;
  text?: ReactNode;
  actions?: ReactNode;
  age?: ReactNode;
}) {
  return (
    <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start', mb: 2 }}>
      <Box sx={{ flexGrow: 1, minWidth: 0 }}>
        <Stack direction="row" spacing={2} sx={{ alignItems: 'baseline' }}>
          <Typography variant="h5" component="h1">
            {title}
          </Typography>
          {age ? (
            <Typography variant="body2" color="text.secondary" data-testid="page-age">
              {age}
            </Typography>
          ) : null}
        </Stack>
        {text ? (
          <Typography variant="body2" color="text.secondary">
            {text}
          </Typography>
        ) : null}
      </Box>
      {actions ? (
        <Stack direction="row" spacing={1} sx={{ flexShrink: 0 }}>
          {actions}
        </Stack>
      ) : null}
    </Stack>
  );
}

/** "updated 4s ago" for a query's data (every state carries its age); ticks on its own. */
export function FetchedAge({ updatedAt }: { updatedAt: number }) {
  const now = useTick();
  return <>{updatedAt ? `updated ${formatAge(Math.max(0, now - updatedAt))} ago` : 'loading'}</>;
}
