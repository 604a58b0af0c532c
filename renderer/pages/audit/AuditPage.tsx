import { useQuery } from '@tanstack/react-query';
import { Box, Chip, Typography } from '@mui/material';
import { DataGrid, type GridColDef } from '@mui/x-data-grid';
import { api } from '../../api.js';
import type { AuditEntry } from '../../../lib/contract/index.js';
import { formatTime } from '../../format.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';

const columns: GridColDef<AuditEntry>[] = [
  { field: 'seq', headerName: '#', width: 70 },
  { field: 'at', headerName: 'When', width: 190, valueFormatter: (v: number) => formatTime(v) },
  { field: 'actor', headerName: 'Who', width: 160 },
  { field: 'action', headerName: 'What', width: 220 },
  { field: 'target', headerName: 'Target', width: 200 },
  {
    field: 'result',
    headerName: 'Result',
    width: 170,
    renderCell: (p) => (
      <Chip
        size="small"
        color={p.row.result === 'ok' ? 'success' : 'error'}
        label={p.row.result === 'ok' ? 'ok' : (p.row.errorCode ?? 'error')}
      />
    ),
  },
  { field: 'transport', headerName: 'Via', width: 80 },
  { field: 'errorMessage', headerName: 'Message', flex: 1, minWidth: 200 },
];

export function AuditPage() {
  const q = useQuery({ queryKey: ['audit'], queryFn: () => api.system.audit({ limit: 500 }) });
  return (
    <Box>
      <Typography variant="h5" gutterBottom>
        Audit
      </Typography>
      <Typography variant="body2" color="text.secondary" gutterBottom>
        Every state-changing call, from the console, the CLI or the desktop app: who, what, when and the
        result. The log is append-only.
      </Typography>
      {q.error ? <ErrorAlert error={q.error} /> : null}
      <Box sx={{ height: 600 }}>
        <DataGrid
          rows={q.data?.entries ?? []}
          columns={columns}
          getRowId={(r) => r.seq}
          loading={q.isLoading}
          density="compact"
        />
      </Box>
    </Box>
  );
}
