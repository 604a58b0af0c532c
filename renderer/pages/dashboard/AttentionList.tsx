import { Alert, Box, Button, Chip, List, ListItem, Stack, Typography } from '@mui/material';
import ErrorIcon from '@mui/icons-material/Error';
import WarningIcon from '@mui/icons-material/Warning';
import InfoIcon from '@mui/icons-material/Info';
import type { AttentionItem, AttentionSeverity } from '../../../lib/contract/index.js';
import { formatAge, formatTime } from '../../format.js';
import { useTick } from '../../components/ticker.js';

const ICONS: Record<AttentionSeverity, React.ReactNode> = {
  critical: <ErrorIcon color="error" aria-hidden />,
  warning: <WarningIcon color="warning" aria-hidden />,
  info: <InfoIcon color="info" aria-hidden />,
};

/** When: "since 12 min ago" or "expires in 2 days", the exact time on hover. */
function When({ item }: { item: AttentionItem }) {
  const now = useTick();
  if (item.until !== null) {
    const d = item.until - now;
    return (
      <span title={formatTime(item.until)} data-testid="attention-when">
        {d > 0 ? `expires in ${formatAge(d)}` : `expired ${formatAge(-d)} ago`}
      </span>
    );
  }
  if (item.since === null) return null;
  return (
    <span title={formatTime(item.since)} data-testid="attention-when">
      {item.kind.startsWith('nodes-') ? 'last seen' : 'since'} {formatAge(Math.max(0, now - item.since))} ago
    </span>
  );
}

/**
 * What needs attention, worst first, as the server ranks it; each row links to the page that resolves it
 * (one click from the Dashboard to the fix).
 */
export function AttentionList({ items, more }: { items: AttentionItem[]; more: number }) {
  if (items.length === 0)
    return (
      <Alert severity="success" data-testid="attention-none">
        Nothing needs attention: every enrolled node is online, no deployment failed, every site is reachable.
      </Alert>
    );
  return (
    <>
      <List dense disablePadding aria-label="what needs attention" data-testid="attention-list">
        {items.map((i) => (
          <ListItem
            key={i.id}
            divider
            data-testid="attention-item"
            data-kind={i.kind}
            data-severity={i.severity}
            sx={{ alignItems: 'flex-start', gap: 1.5, py: 1 }}
          >
            <Box sx={{ pt: 0.25 }}>{ICONS[i.severity]}</Box>
            <Box sx={{ flexGrow: 1, minWidth: 0 }}>
              <Stack direction="row" spacing={1} sx={{ alignItems: 'baseline', flexWrap: 'wrap' }}>
                <Typography variant="body1" sx={{ fontWeight: 500 }} data-testid="attention-title">
                  {i.title}
                </Typography>
                <Chip size="small" variant="outlined" label={i.severity} />
                <Typography variant="body2" color="text.secondary">
                  <When item={i} />
                </Typography>
              </Stack>
              <Typography variant="body2" color="text.secondary" sx={{ overflowWrap: 'anywhere' }}>
                {i.detail}
              </Typography>
            </Box>
            <Button
              size="small"
              variant="outlined"
              href={`#${i.href}`}
              data-testid="attention-action"
              sx={{ flexShrink: 0 }}
              aria-label={`${i.action}: ${i.title}`}
            >
              {i.action}
            </Button>
          </ListItem>
        ))}
      </List>
      {more > 0 ? (
        <Typography variant="body2" color="text.secondary" sx={{ mt: 1 }}>
          and {more} more
        </Typography>
      ) : null}
    </>
  );
}
