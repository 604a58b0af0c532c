import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import {
  Alert,
  Autocomplete,
  FormControlLabel,
  MenuItem,
  Radio,
  RadioGroup,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import type { Node } from '../../../../lib/contract/index.js';
import { api } from '../../../api.js';
import { useSettled } from '../../../settled.js';
import { ErrorAlert } from '../../../components/ErrorAlert.js';
import type { TargetDraft } from './target.js';

/**
 * At most this many matches in the node list, found by the server (name or label text): typing narrows
 * it. Ten thousand options, or their capability documents, would not be fluid.
 */
const SHOWN = 100;
const keepAll = (names: string[]) => names;

/** Step 4: a site (optionally narrowed by labels, all nodes or a number of them), or explicit nodes. */
export function TargetStep({
  value,
  onChange,
  error,
}: {
  value: TargetDraft;
  onChange: (v: TargetDraft) => void;
  error: string | null;
}) {
  const set = (patch: Partial<TargetDraft>) => onChange({ ...value, ...patch });
  const sitesQ = useQuery({ queryKey: ['sites', 'list'], queryFn: () => api.sites.list({}) });
  const [typed, setTyped] = useState('');
  const search = useSettled(typed.trim(), 250);
  const nodesQ = useQuery({
    queryKey: ['nodes', 'list', 'picker', search],
    queryFn: () =>
      api.nodes.list({
        capabilities: false,
        limit: SHOWN,
        sort: { field: 'name', direction: 'asc' },
        ...(search ? { search } : {}),
      }),
    enabled: value.mode === 'nodes',
    placeholderData: keepPreviousData,
  });
  const sites = sitesQ.data?.sites ?? [];
  const byName = new Map<string, Node>((nodesQ.data?.nodes ?? []).map((n) => [n.name, n]));
  return (
    <Stack spacing={2}>
      <RadioGroup
        row
        value={value.mode}
        onChange={(e) => set({ mode: e.target.value as TargetDraft['mode'] })}
      >
        <FormControlLabel
          value="site"
          control={<Radio />}
          label="Nodes of a site"
          data-testid="target-mode-site"
        />
        <FormControlLabel
          value="nodes"
          control={<Radio />}
          label="Explicit nodes"
          data-testid="target-mode-nodes"
        />
      </RadioGroup>
      {value.mode === 'site' ? (
        <>
          {sitesQ.error ? <ErrorAlert error={sitesQ.error} /> : null}
          {sitesQ.data && sites.length === 0 ? (
            <Alert severity="info">No site yet: add one on the Sites &amp; Nodes page.</Alert>
          ) : null}
          <TextField
            select
            size="small"
            label="Site"
            value={value.siteId}
            onChange={(e) => set({ siteId: e.target.value })}
            sx={{ width: 320 }}
            slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'target-site' } as object } }}
          >
            {sites.map((s) => (
              <MenuItem key={s.id} value={s.id} data-testid="target-site-option" data-value={s.id}>
                {s.name} ({s.id}) · {s.nodeCount} node{s.nodeCount === 1 ? '' : 's'}
              </MenuItem>
            ))}
          </TextField>
          <TextField
            size="small"
            label="Label selector (optional)"
            placeholder="tier=gold, zone=a"
            helperText="only nodes with all these labels"
            value={value.selector}
            onChange={(e) => set({ selector: e.target.value })}
            sx={{ width: 420 }}
            slotProps={{ htmlInput: { 'data-testid': 'target-selector' } }}
          />
          <Stack direction="row" spacing={2} sx={{ alignItems: 'center' }}>
            <RadioGroup
              row
              value={value.replicas}
              onChange={(e) => set({ replicas: e.target.value as TargetDraft['replicas'] })}
            >
              <FormControlLabel value="all" control={<Radio />} label="every eligible node" />
              <FormControlLabel
                value="count"
                control={<Radio />}
                label="the best"
                data-testid="target-replicas-count"
              />
            </RadioGroup>
            <TextField
              size="small"
              label="Nodes"
              value={value.count}
              disabled={value.replicas !== 'count'}
              onChange={(e) => set({ count: e.target.value })}
              sx={{ width: 100 }}
              slotProps={{ htmlInput: { 'data-testid': 'target-count', inputMode: 'numeric' } }}
            />
          </Stack>
        </>
      ) : (
        <>
          {nodesQ.error ? <ErrorAlert error={nodesQ.error} /> : null}
          <Autocomplete
            multiple
            options={nodesQ.data?.nodes.map((n) => n.name) ?? []}
            filterOptions={keepAll}
            inputValue={typed}
            onInputChange={(_e, v) => setTyped(v)}
            loading={nodesQ.isFetching}
            value={value.nodes}
            onChange={(_e, v) => set({ nodes: v })}
            renderOption={(props, name) => {
              const { key, ...rest } = props as typeof props & { key: string };
              const n = byName.get(name);
              return (
                <li key={key} {...rest} data-testid="target-node-option" data-value={name}>
                  {name}
                  {n ? (
                    <Typography component="span" variant="caption" color="text.secondary" sx={{ ml: 1 }}>
                      {n.siteId} · {n.state} · {n.presence}
                    </Typography>
                  ) : null}
                </li>
              );
            }}
            renderInput={(params) => (
              <TextField
                {...params}
                size="small"
                label="Nodes"
                placeholder="type to search"
                helperText={
                  nodesQ.data
                    ? `${nodesQ.data.total} match${nodesQ.data.total === 1 ? '' : 'es'}${
                        nodesQ.data.total > SHOWN ? `, showing the first ${SHOWN}: type to narrow` : ''
                      }`
                    : `shows up to ${SHOWN} matches; type to narrow`
                }
                slotProps={{
                  ...params.slotProps,
                  htmlInput: { ...params.slotProps.htmlInput, 'data-testid': 'target-nodes' },
                }}
              />
            )}
            sx={{ maxWidth: 640 }}
          />
        </>
      )}
      {error ? (
        <Typography variant="body2" color="error" data-testid="target-error">
          {error}
        </Typography>
      ) : null}
    </Stack>
  );
}
