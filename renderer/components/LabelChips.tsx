import { Chip, Stack } from '@mui/material';
import { formatLabelValue } from './labels.js';

export { formatLabelValue, parseLabelText } from './labels.js';

/** Labels as `key=value` chips; reported (node-sent) labels are outlined. */
export function LabelChips({
  labels,
  reported,
  testId = 'label',
}: {
  labels: Record<string, string>;
  reported?: Record<string, unknown>;
  testId?: string;
}) {
  const own = Object.entries(labels);
  const theirs = Object.entries(reported ?? {}).filter(([k]) => !(k in labels));
  if (own.length === 0 && theirs.length === 0) return null;
  return (
    <Stack
      direction="row"
      spacing={0.5}
      sx={{ flexWrap: 'wrap', alignItems: 'center', rowGap: 0.5, height: '100%' }}
    >
      {own.map(([k, v]) => (
        <Chip key={k} size="small" label={v === '' ? k : `${k}=${v}`} data-testid={testId} />
      ))}
      {theirs.map(([k, v]) => (
        <Chip
          key={`r:${k}`}
          size="small"
          variant="outlined"
          label={`${k}=${formatLabelValue(v)}`}
          title="reported by the node"
          data-testid={`${testId}-reported`}
        />
      ))}
    </Stack>
  );
}
