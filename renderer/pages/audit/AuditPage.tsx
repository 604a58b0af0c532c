import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Box, Chip, MenuItem, Paper, Stack, TextField, Typography } from '@mui/material';
import { DataGrid, type GridColDef, type GridPaginationModel } from '@mui/x-data-grid';
import { api } from '../../api.js';
import type { AuditEntry } from '../../../lib/contract/index.js';
import { formatTime } from '../../format.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { FetchedAge } from '../../components/PageHeader.js';
import { useSettled } from '../../settled.js';
import { routeQuery, useRoute } from '../../router.js';

const columns: GridColDef<AuditEntry>[] = [
  { field: 'seq', headerName: '#', width: 70, sortable: false },
  {
    field: 'at',
    headerName: 'When',
    width: 190,
    sortable: false,
    valueFormatter: (v: number) => formatTime(v),
  },
  { field: 'actor', headerName: 'Who', width: 160, sortable: false },
  { field: 'action', headerName: 'What', width: 200, sortable: false },
  { field: 'target', headerName: 'Target', width: 180, sortable: false },
  {
    field: 'result',
    headerName: 'Result',
    width: 150,
    sortable: false,
    renderCell: (p) => (
      <Chip
        size="small"
        variant="outlined"
        color={p.row.result === 'ok' ? 'success' : 'error'}
        label={p.row.result === 'ok' ? 'ok' : (p.row.errorCode ?? 'error')}
      />
    ),
  },
  { field: 'transport', headerName: 'Via', width: 80, sortable: false },
  { field: 'errorMessage', headerName: 'Message', flex: 1, minWidth: 200, sortable: false },
];

/**
 * The audit log, paged and filtered by the server (system.audit): every state-changing call with who,
 * what, when and the result; a row shows the input it was called with. Asked again every 5 s while open.
 */
export function AuditPage() {
  const params = routeQuery(useRoute());
  const [result, setResult] = useState<'' | 'ok' | 'error'>(
    params.get('result') === 'error' ? 'error' : params.get('result') === 'ok' ? 'ok' : '',
  );
  const [text, setText] = useState('');
  const search = useSettled(text.trim(), 250);
  const [paging, setPaging] = useState<GridPaginationModel>({ page: 0, pageSize: 100 });
  const [selected, setSelected] = useState<AuditEntry | null>(null);
  const filter = {
    limit: paging.pageSize,
    offset: paging.page * paging.pageSize,
    ...(result ? { result } : {}),
    ...(search ? { search } : {}),
  };
  const q = useQuery({
    queryKey: ['audit', filter],
    queryFn: () => api.system.audit(filter),
    placeholderData: (prev) => prev,
    refetchInterval: 5000,
  });
  return (
    <Box>
      <Stack direction="row" spacing={2} sx={{ alignItems: 'baseline' }}>
        <Typography variant="h5" component="h1" gutterBottom>
          Audit
        </Typography>
        <Typography variant="body2" color="text.secondary">
          <FetchedAge updatedAt={q.dataUpdatedAt} />
        </Typography>
      </Stack>
      <Typography variant="body2" color="text.secondary" gutterBottom>
        Every state-changing call, from the console, the CLI or the desktop app: who, what, when and the
        result. The log is append-only.
      </Typography>
      <Stack direction="row" spacing={2} sx={{ my: 1, alignItems: 'center' }}>
        <TextField
          select
          size="small"
          label="Result"
          value={result}
          onChange={(e) => {
            setResult(e.target.value as '' | 'ok' | 'error');
            setPaging({ ...paging, page: 0 });
          }}
          sx={{ minWidth: 130 }}
          slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'audit-result' } as object } }}
        >
          <MenuItem value="">any</MenuItem>
          <MenuItem value="ok">ok</MenuItem>
          <MenuItem value="error">failed</MenuItem>
        </TextField>
        <TextField
          size="small"
          label="Search"
          placeholder="who, what, target, message or input"
          value={text}
          onChange={(e) => {
            setText(e.target.value);
            setPaging({ ...paging, page: 0 });
          }}
          sx={{ minWidth: 280 }}
          slotProps={{ htmlInput: { 'data-testid': 'audit-search' } }}
        />
        <Typography variant="body2" color="text.secondary" data-testid="audit-total">
          {q.data ? `${q.data.total} entr${q.data.total === 1 ? 'y' : 'ies'}` : ''}
        </Typography>
      </Stack>
      {q.error ? <ErrorAlert error={q.error} /> : null}
      <Box sx={{ height: 560 }}>
        <DataGrid
          rows={q.data?.entries ?? []}
          rowCount={q.data?.total ?? 0}
          columns={columns}
          getRowId={(r) => r.seq}
          loading={q.isLoading}
          density="compact"
          paginationMode="server"
          paginationModel={paging}
          onPaginationModelChange={setPaging}
          pageSizeOptions={[50, 100, 500]}
          disableColumnFilter
          onRowClick={(p) => setSelected(p.row)}
          aria-label="Audit entries"
        />
      </Box>
      {selected ? (
        <Paper variant="outlined" sx={{ p: 2, mt: 2 }} data-testid="audit-input">
          <Typography variant="subtitle2" component="h2">
            #{selected.seq} {selected.action} {selected.target ?? ''}: input
          </Typography>
          <Box component="pre" sx={{ m: 0, overflow: 'auto', maxHeight: 240, fontSize: 13 }}>
            {selected.input === null ? '(none)' : JSON.stringify(selected.input, null, 2)}
          </Box>
        </Paper>
      ) : null}
    </Box>
  );
}
