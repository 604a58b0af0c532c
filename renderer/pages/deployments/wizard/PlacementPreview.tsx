import { useMemo } from 'react';
import { Alert, Box, Chip, Stack, Typography } from '@mui/material';
import { DataGrid, type GridColDef } from '@mui/x-data-grid';
import type { api } from '../../../api.js';

/** The placement engine's answer, as the contract types it. */
export type PlacementResult = Awaited<ReturnType<typeof api.deployments.place>>['placement'];
type PlacementCandidate = PlacementResult['candidates'][number];

const rowId = (c: PlacementCandidate) => c.uid;

function order(c: PlacementCandidate): number {
  return c.placed ? 0 : c.eligible ? 1 : 2;
}

const columns: GridColDef<PlacementCandidate>[] = [
  { field: 'name', headerName: 'Node', width: 160 },
  { field: 'siteId', headerName: 'Site', width: 110 },
  {
    field: 'placed',
    headerName: 'Placed',
    width: 130,
    valueGetter: (_v, row) => order(row),
    renderCell: (p) => (
      <Chip
        size="small"
        color={p.row.placed ? 'success' : p.row.eligible ? 'info' : 'default'}
        variant={p.row.placed ? 'filled' : 'outlined'}
        label={p.row.placed ? 'placed' : p.row.eligible ? 'eligible' : 'not eligible'}
        data-testid="candidate-placed"
        data-value={String(p.row.placed)}
      />
    ),
  },
  { field: 'rank', headerName: 'Rank', width: 70, valueGetter: (_v, row) => row.rank ?? undefined },
  {
    field: 'score',
    headerName: 'Score',
    width: 80,
    valueGetter: (_v, row) => row.score ?? undefined,
    valueFormatter: (v: number | undefined) => (v === undefined ? '' : v.toFixed(1)),
  },
  {
    field: 'reasons',
    headerName: 'Why (not)',
    flex: 1,
    minWidth: 320,
    sortable: false,
    valueGetter: (_v, row) => row.reasons.map((r) => `${r.code}: ${r.message}`).join('; '),
    renderCell: (p) => (
      <Stack spacing={0.25} sx={{ py: 0.75 }}>
        {p.row.reasons.length === 0 ? (
          <Typography variant="body2" color="text.secondary">
            fits
          </Typography>
        ) : (
          p.row.reasons.map((r, i) => (
            <Typography key={i} variant="body2" data-testid="candidate-reason" data-code={r.code}>
              <code>{r.code}</code> {r.message}
            </Typography>
          ))
        )}
      </Stack>
    ),
  },
];

/**
 * "Why not this node": the placement engine's answer for every candidate (the same engine and words as
 * `edgectl co place`), placed nodes first in rank order.
 */
export function PlacementPreview({ placement }: { placement: PlacementResult }) {
  const rows = useMemo(
    () =>
      [...placement.candidates].sort(
        (a, b) => order(a) - order(b) || (a.rank ?? 0) - (b.rank ?? 0) || a.name.localeCompare(b.name),
      ),
    [placement.candidates],
  );
  const rejected = Object.entries(placement.rejected);
  return (
    <Stack spacing={2} data-testid="placement" data-placeable={String(placement.placeable)}>
      <Alert severity={placement.placeable ? 'success' : 'warning'} data-testid="placement-summary">
        {placement.summary}
      </Alert>
      <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', rowGap: 1, alignItems: 'center' }}>
        <Typography variant="body2" color="text.secondary">
          {placement.considered} considered · {placement.eligibleCount} eligible · {placement.placed.length}{' '}
          placed
        </Typography>
        {rejected.map(([code, n]) => (
          <Chip
            key={code}
            size="small"
            variant="outlined"
            label={`${n} ${code}`}
            data-testid="placement-rejected"
            data-code={code}
          />
        ))}
      </Stack>
      <Box sx={{ height: 420 }}>
        <DataGrid
          rows={rows}
          columns={columns}
          getRowId={rowId}
          getRowHeight={() => 'auto'}
          density="compact"
          disableRowSelectionOnClick
          initialState={{ pagination: { paginationModel: { pageSize: 100 } } }}
          pageSizeOptions={[25, 50, 100]}
          data-testid="placement-candidates"
          aria-label="Placement candidates"
        />
      </Box>
    </Stack>
  );
}
