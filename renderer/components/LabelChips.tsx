import { Chip, Stack } from '@mui/material';

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

export function formatLabelValue(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/**
 * `a=1, b=2` (commas or new lines) into a label map, as typed; the server validates keys and values.
 * A part without `=` is a key with an empty value.
 */
export function parseLabelText(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(/[,\n]/)) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq < 0) out[p] = '';
    else out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return out;
}
