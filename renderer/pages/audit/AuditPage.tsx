import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import {
  Box,
  Chip,
  MenuItem,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import { DataGrid, type GridColDef, type GridPaginationModel } from '@mui/x-data-grid';
import { api } from '../../api.js';
import { AUDIT_SOURCES, type AuditEntry, type AuditSource } from '../../../lib/contract/index.js';
import { formatTime } from '../../format.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { FetchedAge } from '../../components/PageHeader.js';
import { useSettled } from '../../settled.js';
import { routeQuery, useRoute } from '../../router.js';
import { diffInputs, showValue } from './diff.js';

const SOURCE_LABEL: Record<AuditSource, string> = {
  console: 'console',
  cli: 'CLI',
  agent: 'agent',
  bundle: 'bundle',
  api: 'API',
};

const columns: GridColDef<AuditEntry>[] = [
  { field: 'seq', headerName: '#', width: 70, sortable: false },
  {
    field: 'at',
    headerName: 'When',
    width: 190,
    sortable: false,
    valueFormatter: (v: number) => formatTime(v),
  },
  { field: 'actor', headerName: 'Who', width: 150, sortable: false },
  {
    field: 'source',
    headerName: 'Source',
    width: 90,
    sortable: false,
    valueFormatter: (v: AuditSource) => SOURCE_LABEL[v] ?? v,
  },
  { field: 'action', headerName: 'What', width: 190, sortable: false },
  { field: 'target', headerName: 'Target', width: 170, sortable: false },
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
  { field: 'errorMessage', headerName: 'Message', flex: 1, minWidth: 200, sortable: false },
];

const isSource = (v: string | null): v is AuditSource => (AUDIT_SOURCES as readonly unknown[]).includes(v);

/**
 * The audit log, paged and filtered by the server (system.audit): every state-changing call with who,
 * where from, what, when and the result; a row shows what changed since the previous call on the same
 * target (ADR 0232) and the input it was called with. Live: new entries announce the `audit` topic.
 */
export function AuditPage() {
  const params = routeQuery(useRoute());
  const [result, setResult] = useState<'' | 'ok' | 'error'>(
    params.get('result') === 'error' ? 'error' : params.get('result') === 'ok' ? 'ok' : '',
  );
  const [source, setSource] = useState<'' | AuditSource>(() => {
    const s = params.get('source');
    return isSource(s) ? s : '';
  });
  const [text, setText] = useState('');
  const search = useSettled(text.trim(), 250);
  const [paging, setPaging] = useState<GridPaginationModel>({ page: 0, pageSize: 100 });
  const [selected, setSelected] = useState<AuditEntry | null>(null);
  const filter = {
    limit: paging.pageSize,
    offset: paging.page * paging.pageSize,
    ...(result ? { result } : {}),
    ...(source ? { source } : {}),
    ...(search ? { search } : {}),
  };
  const q = useQuery({
    queryKey: ['audit', filter],
    queryFn: () => api.system.audit(filter),
    placeholderData: (prev) => prev,
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
        Every state-changing call, from the console, the CLI, agents and imported bundles: who, from where,
        what, when and the result. The log is append-only; new entries appear as they are written.
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
          select
          size="small"
          label="Source"
          value={source}
          onChange={(e) => {
            setSource(e.target.value as '' | AuditSource);
            setPaging({ ...paging, page: 0 });
          }}
          sx={{ minWidth: 130 }}
          slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'audit-source' } as object } }}
        >
          <MenuItem value="">any</MenuItem>
          {AUDIT_SOURCES.map((s) => (
            <MenuItem key={s} value={s}>
              {SOURCE_LABEL[s]}
            </MenuItem>
          ))}
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
          sx={{ minWidth: 240, flex: 1, maxWidth: 360 }}
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
      {selected ? <EntryDetail entry={selected} /> : null}
    </Box>
  );
}

/**
 * One entry opened: what changed since the previous successful call with the same action and target
 * (asked from the server), and the input it was called with. Inputs never hold uploaded content (the
 * audit keeps an upload's name, size and digest only).
 */
function EntryDetail({ entry }: { entry: AuditEntry }) {
  const prev = useQuery({
    queryKey: ['audit', 'previous', entry.seq],
    enabled: entry.target !== null,
    queryFn: () =>
      api.system.audit({
        action: entry.action,
        target: entry.target!,
        result: 'ok',
        before: entry.seq,
        limit: 1,
      }),
    staleTime: Infinity,
  });
  const previous = prev.data?.entries[0];
  const changes = previous ? diffInputs(previous.input, entry.input) : null;
  return (
    <Paper variant="outlined" sx={{ p: 2, mt: 2 }} data-testid="audit-detail">
      <Typography variant="subtitle2" component="h2">
        #{entry.seq} {entry.action} {entry.target ?? ''} from {SOURCE_LABEL[entry.source] ?? entry.source}
      </Typography>
      <Box data-testid="audit-diff" sx={{ my: 1 }}>
        {entry.target === null ? (
          <Typography variant="body2" color="text.secondary">
            No target: nothing to compare with.
          </Typography>
        ) : prev.isLoading ? (
          <Typography variant="body2" color="text.secondary">
            Looking for the previous call…
          </Typography>
        ) : !previous ? (
          <Typography variant="body2" color="text.secondary" data-testid="audit-diff-first">
            The first successful {entry.action} on {entry.target}: its whole input is below.
          </Typography>
        ) : changes!.length === 0 ? (
          <Typography variant="body2" color="text.secondary" data-testid="audit-diff-same">
            Same input as the previous call (#{previous.seq}, {formatTime(previous.at)}).
          </Typography>
        ) : (
          <>
            <Typography variant="body2" color="text.secondary">
              Changed since the previous call (#{previous.seq}, {formatTime(previous.at)} by {previous.actor}
              ):
            </Typography>
            <Table size="small" aria-label="Changes since the previous call">
              <TableHead>
                <TableRow>
                  <TableCell>Field</TableCell>
                  <TableCell>Before</TableCell>
                  <TableCell>After</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {changes!.map((c) => (
                  <TableRow key={c.path} data-testid="audit-change" data-kind={c.kind} data-path={c.path}>
                    <TableCell sx={{ fontFamily: 'monospace' }}>{c.path}</TableCell>
                    <TableCell sx={{ fontFamily: 'monospace', color: 'error.main' }}>
                      {c.kind === 'added' ? '(none)' : showValue(c.before)}
                    </TableCell>
                    <TableCell sx={{ fontFamily: 'monospace', color: 'success.main' }}>
                      {c.kind === 'removed' ? '(none)' : showValue(c.after)}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </>
        )}
      </Box>
      <Typography variant="subtitle2" component="h3">
        Input
      </Typography>
      <Box
        component="pre"
        data-testid="audit-input"
        sx={{ m: 0, overflow: 'auto', maxHeight: 240, fontSize: 13 }}
        tabIndex={0}
        aria-label="Input of the call"
      >
        {entry.input === null ? '(none)' : JSON.stringify(entry.input, null, 2)}
      </Box>
    </Paper>
  );
}
