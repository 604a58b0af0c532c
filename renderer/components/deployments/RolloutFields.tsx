import { MenuItem, Stack, TextField } from '@mui/material';
import type { RolloutOptions } from '../../../core/contract/index.js';

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
  const threshold: Partial<RolloutOptions> =
    d.failureThreshold.trim() === ''
      ? {}
      : {
          failureThreshold: /%$/.test(d.failureThreshold.trim())
            ? d.failureThreshold.trim()
            : num(d.failureThreshold),
        };
  if (d.installTimeout.trim() !== '')
    Object.assign(threshold, { installTimeoutSeconds: num(d.installTimeout) });
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

export function RolloutFields({
  value,
  onChange,
}: {
  value: RolloutDraft;
  onChange: (v: RolloutDraft) => void;
}) {
  const set = (patch: Partial<RolloutDraft>) => onChange({ ...value, ...patch });
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
      {value.kind === 'batches' ? (
        <TextField
          size="small"
          label="Nodes per batch"
          value={value.batchSize}
          onChange={(e) => set({ batchSize: e.target.value })}
          sx={{ width: 150 }}
        />
      ) : null}
      {value.kind === 'canary' ? (
        <>
          <TextField
            size="small"
            label="Canary nodes"
            value={value.canary}
            onChange={(e) => set({ canary: e.target.value })}
            sx={{ width: 130 }}
            slotProps={{ htmlInput: { 'data-testid': 'rollout-canary-count' } }}
          />
          <TextField
            size="small"
            label="Promote"
            helperText="manual, or seconds of soak"
            value={value.promote}
            onChange={(e) => set({ promote: e.target.value })}
            sx={{ width: 190 }}
          />
        </>
      ) : null}
      <TextField
        size="small"
        label="Failures tolerated"
        helperText="a count or a percentage; default 0"
        value={value.failureThreshold}
        onChange={(e) => set({ failureThreshold: e.target.value })}
        sx={{ width: 190 }}
      />
      <TextField
        size="small"
        label="Install timeout (s)"
        helperText="not installed by then counts as failed; empty: no limit"
        value={value.installTimeout}
        onChange={(e) => set({ installTimeout: e.target.value })}
        sx={{ width: 230 }}
        slotProps={{ htmlInput: { 'data-testid': 'rollout-install-timeout' } }}
      />
    </Stack>
  );
}
