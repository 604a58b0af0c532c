import { createContext, useContext } from 'react';
import { Chip, Stack, Typography } from '@mui/material';
import type { Presence } from '../../../lib/contract/index.js';
import { formatAge, formatTime } from '../../format.js';
import { useTick } from '../../components/ticker.js';
import { lastSeenAge, presenceNow, type PresenceReport } from './presence.js';

const COLORS: Record<Presence, 'success' | 'warning' | 'error' | 'default'> = {
  online: 'success',
  stale: 'warning',
  offline: 'error',
  unknown: 'default',
};

/** The server's latest presence answer, shared by every presence cell of a table. */
export const PresenceReportContext = createContext<PresenceReport | null>(null);

/**
 * Presence as a coloured chip with the age since the node was last seen ("12s ago", "never").
 * Green only when the server said online and that answer is still younger than the stale threshold.
 * Ticks with the shared clock (ticker.ts); the table around it does not re-render.
 */
export function PresenceChip({ presence, lastSeenAt }: { presence: Presence; lastSeenAt: number | null }) {
  const report = useContext(PresenceReportContext);
  const now = useTick();
  const shown = report ? presenceNow(presence, lastSeenAt, report, now) : presence;
  const age = report ? lastSeenAge(lastSeenAt, report, now) : null;
  const ageText = lastSeenAt === null ? 'never' : age === null ? '-' : `${formatAge(age)} ago`;
  return (
    <Stack
      direction="row"
      spacing={1}
      sx={{ alignItems: 'center', height: '100%' }}
      title={
        lastSeenAt === null
          ? 'never heard from'
          : `last seen ${formatTime(lastSeenAt)}${shown !== presence ? ` (the server said ${presence})` : ''}`
      }
    >
      <Chip
        size="small"
        color={COLORS[shown]}
        variant={shown === 'unknown' ? 'outlined' : 'filled'}
        label={shown}
        data-testid="presence"
        data-presence={shown}
      />
      <Typography variant="caption" color="text.secondary" data-testid="last-seen">
        {ageText}
      </Typography>
    </Stack>
  );
}
