import { MenuItem, Stack, TextField } from '@mui/material';
import type { RolloutOptions } from '../../../lib/contract/index.js';

/** What the operator typed for the rollout; `rolloutOptions` turns it into the contract's shape. */
export interface RolloutDraft {
  kind: 'all-at-once' | 'batches' | 'canary';
  batchSize: string;
  canary: string;
  /** `manual`, or seconds of soak before the canary is promoted automatically. */
  promote: string;
  failureThreshold: string;
  /** Seconds; empty: no limit. */
  installTimeout: string;
}

export const defaultRollout: RolloutDraft = {
  kind: 'all-at-once',
  batchSize: '1',
  canary: '1',
  promote: 'manual',
  failureThreshold: '',
  installTimeout: '',
};

/**
 * The rollout options as the server takes them (it validates them again). Numbers that are not
 * numbers are passed as typed so the server's refusal names the field; an empty threshold is left out.
 */
export function rolloutOptions(d: RolloutDraft): RolloutOptions | undefined {
  const num = (s: string) => (/^\d+$/.test(s.trim()) ? Number(s.trim()) : (s as unknown as number));
  const failures = d.failureThreshold.trim();
  const threshold: Partial<RolloutOptions> = {
    ...(failures === ''
      ? {}
      : { failureThreshold: failures.endsWith('%') ? failures : num(d.failureThreshold) }),
    ...(d.installTimeout.trim() === '' ? {} : { installTimeoutSeconds: num(d.installTimeout) }),
  };
  if (d.kind === 'all-at-once')
    return Object.keys(threshold).length ? { strategy: { kind: 'all-at-once' }, ...threshold } : undefined;
  if (d.kind === 'batches') return { strategy: { kind: 'batches', size: num(d.batchSize) }, ...threshold };
  return {
    strategy: {
      kind: 'canary',
      canary: num(d.canary),
      promote: d.promote.trim() === 'manual' ? 'manual' : { afterSeconds: num(d.promote) },
      then: { kind: 'all-at-once' },
    },
    ...threshold,
  };
}

/** A text field of the draft; the ones below differ only in these. */
type TextKey = Exclude<keyof RolloutDraft, 'kind'>;
interface TextSpec {
  label: string;
  width: number;
  helperText?: string;
  testId?: string;
}

export function RolloutFields({
  value,
  onChange,
}: {
  value: RolloutDraft;
  onChange: (v: RolloutDraft) => void;
}) {
  const set = (patch: Partial<RolloutDraft>) => onChange({ ...value, ...patch });
  const text = (key: TextKey, { label, width, helperText, testId }: TextSpec) => (
    <TextField
      key={key}
      size="small"
      label={label}
      helperText={helperText}
      value={value[key]}
      onChange={(e) => set({ [key]: e.target.value })}
      sx={{ width }}
      slotProps={testId ? { htmlInput: { 'data-testid': testId } } : {}}
    />
  );
  return (
    <Stack direction="row" spacing={2} sx={{ flexWrap: 'wrap', rowGap: 2 }} data-testid="rollout-fields">
      <TextField
        select
        size="small"
        label="Rollout"
        value={value.kind}
        onChange={(e) => set({ kind: e.target.value as RolloutDraft['kind'] })}
        sx={{ minWidth: 200 }}
        slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'rollout-kind' } as object } }}
      >
        <MenuItem value="all-at-once">all at once</MenuItem>
        <MenuItem value="batches">in batches</MenuItem>
        <MenuItem value="canary" data-testid="rollout-canary">
          canary first
        </MenuItem>
      </TextField>
      {value.kind === 'batches' ? text('batchSize', { label: 'Nodes per batch', width: 150 }) : null}
      {value.kind === 'canary'
        ? [
            text('canary', { label: 'Canary nodes', width: 130, testId: 'rollout-canary-count' }),
            text('promote', { label: 'Promote', width: 190, helperText: 'manual, or seconds of soak' }),
          ]
        : null}
      {text('failureThreshold', {
        label: 'Failures tolerated',
        width: 190,
        helperText: 'a count or a percentage; default 0',
      })}
      {text('installTimeout', {
        label: 'Install timeout (s)',
        width: 230,
        helperText: 'not installed by then counts as failed; empty: no limit',
        testId: 'rollout-install-timeout',
      })}
    </Stack>
  );
}
