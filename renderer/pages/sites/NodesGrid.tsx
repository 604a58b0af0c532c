import { useCallback, useMemo, useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Box, Chip, Link, Snackbar } from '@mui/material';
import { nodePath } from '../nodes/routes.js';
import {
  DataGrid,
  GridActionsCellItem,
  type GridColDef,
  type GridPaginationModel,
  type GridRowSelectionModel,
  type GridSortModel,
} from '@mui/x-data-grid';
import BlockIcon from '@mui/icons-material/Block';
import PlayArrowIcon from '@mui/icons-material/PlayArrow';
import LabelIcon from '@mui/icons-material/Label';
import MemoryIcon from '@mui/icons-material/Memory';
import DeleteIcon from '@mui/icons-material/Delete';
import type { DeviceModel, Node } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { formatTime } from '../../format.js';
import { PresenceChip, PresenceReportContext } from './PresenceChip.js';
import type { PresenceReport } from './presence.js';
import { LabelChips } from '../../components/LabelChips.js';
import { labelText } from '../../components/labels.js';
import { capacitySummary } from './summary.js';
import { ConfirmDialog } from '../../components/ConfirmDialog.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { EditLabelsDialog, SetModelDialog } from './NodeDialogs.js';
import { useSession } from '../../session.js';

const STATE_COLORS = { registered: 'default', enrolled: 'primary', revoked: 'error' } as const;

type Dialog = { kind: 'labels' | 'model' | 'remove'; node: Node } | null;

/**
 * The nodes table: one page of the server's answer. The server pages, sorts and filters (ADR 0390): the
 * grid only reports the page and the sort the operator asks for, and shows `total` as its row count.
 * Rows are virtualised within a page; presence ages tick inside their own cells without re-rendering.
 */
export function NodesGrid({
  selected,
  onSelectedChange,
  nodes,
  total,
  models,
  report,
  loading,
  paginationModel,
  onPaginationModelChange,
  sortModel,
  onSortModelChange,
}: {
  /** Uids of the selected nodes (kept across pages, for bulk actions). */
  selected: string[];
  onSelectedChange: (uids: string[]) => void;
  nodes: Node[];
  total: number;
  models: DeviceModel[];
  report: PresenceReport | null;
  loading: boolean;
  paginationModel: GridPaginationModel;
  onPaginationModelChange: (m: GridPaginationModel) => void;
  sortModel: GridSortModel;
  onSortModelChange: (m: GridSortModel) => void;
}) {
  const qc = useQueryClient();
  const [dialog, setDialog] = useState<Dialog>(null);
  const [failure, setFailure] = useState<unknown>(null);
  const modelNames = useMemo(() => new Map(models.map((m) => [m.id, m.name])), [models]);

  const cordon = useMutation({
    mutationFn: ({ node, on }: { node: Node; on: boolean }) =>
      on ? api.nodes.cordon({ name: node.name }) : api.nodes.uncordon({ name: node.name }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['nodes'] }),
    onError: (err) => setFailure(err),
  });
  const { mutate: setCordon } = cordon;
  const open = useCallback(
    (kind: 'labels' | 'model' | 'remove', node: Node) => setDialog({ kind, node }),
    [],
  );

  // Row actions the signed-in roles may not take are not offered (the page header says why).
  const { can } = useSession();
  const may = {
    cordon: can('nodes.cordon').allowed,
    label: can('nodes.label').allowed,
    model: can('nodes.setModel').allowed,
    remove: can('nodes.remove').allowed,
  };
  // Selecting rows is for bulk actions: offered only to roles that may take them (the header says why).
  const mayBulk = can('nodes.bulk').allowed;
  const { cordon: mayCordon, label: mayLabel, model: mayModel, remove: mayRemove } = may;

  const columns = useMemo<GridColDef<Node>[]>(
    () => [
      {
        field: 'actions',
        type: 'actions',
        headerName: '',
        width: 48,
        getActions: (p) => [
          ...(mayCordon
            ? [
                p.row.cordoned ? (
                  <GridActionsCellItem
                    key="uncordon"
                    showInMenu
                    icon={<PlayArrowIcon />}
                    label="Uncordon"
                    data-testid="action-uncordon"
                    onClick={() => setCordon({ node: p.row, on: false })}
                  />
                ) : (
                  <GridActionsCellItem
                    key="cordon"
                    showInMenu
                    icon={<BlockIcon />}
                    label="Cordon"
                    data-testid="action-cordon"
                    onClick={() => setCordon({ node: p.row, on: true })}
                  />
                ),
              ]
            : []),
          ...(mayLabel
            ? [
                <GridActionsCellItem
                  key="labels"
                  showInMenu
                  icon={<LabelIcon />}
                  label="Edit labels"
                  data-testid="action-labels"
                  onClick={() => open('labels', p.row)}
                />,
              ]
            : []),
          ...(mayModel
            ? [
                <GridActionsCellItem
                  key="model"
                  showInMenu
                  icon={<MemoryIcon />}
                  label="Set device model"
                  data-testid="action-model"
                  onClick={() => open('model', p.row)}
                />,
              ]
            : []),
          ...(mayRemove
            ? [
                <GridActionsCellItem
                  key="remove"
                  showInMenu
                  icon={<DeleteIcon />}
                  label="Remove"
                  data-testid="action-remove"
                  onClick={() => open('remove', p.row)}
                />,
              ]
            : []),
        ],
      },
      {
        field: 'name',
        headerName: 'Name',
        width: 150,
        renderCell: (p) => (
          <Link href={`#${nodePath(p.row.name)}`} data-testid="node-link">
            {p.row.name}
          </Link>
        ),
      },
      { field: 'siteId', headerName: 'Site', width: 110 },
      {
        field: 'state',
        headerName: 'State',
        width: 110,
        renderCell: (p) => (
          <Chip
            size="small"
            variant="outlined"
            color={STATE_COLORS[p.row.state]}
            label={p.row.state}
            data-testid="node-state"
          />
        ),
      },
      {
        field: 'presence',
        headerName: 'Presence · last seen',
        width: 175,
        renderCell: (p) => <PresenceChip presence={p.row.presence} lastSeenAt={p.row.lastSeenAt} />,
      },
      {
        field: 'modelId',
        headerName: 'Model',
        width: 140,
        valueGetter: (_v, row) => (row.modelId ? (modelNames.get(row.modelId) ?? row.modelId) : ''),
      },
      {
        field: 'labels',
        headerName: 'Labels',
        flex: 1,
        minWidth: 150,
        sortable: false,
        valueGetter: (_v, row) => labelText(row),
        renderCell: (p) => (
          <Box sx={{ overflow: 'hidden', height: '100%' }}>
            <LabelChips labels={p.row.labels} reported={p.row.reportedLabels} />
          </Box>
        ),
      },
      {
        field: 'cordoned',
        headerName: 'Cordoned',
        width: 100,
        type: 'boolean',
        renderCell: (p) =>
          p.row.cordoned ? (
            <Chip size="small" color="warning" label="cordoned" data-testid="cordoned" data-value="true" />
          ) : (
            <span data-testid="cordoned" data-value="false">
              no
            </span>
          ),
      },
      {
        field: 'capabilities',
        headerName: 'Capabilities',
        width: 170,
        sortable: false,
        valueGetter: (_v, row) => capacitySummary(row.capacity),
        renderCell: (p) =>
          p.row.capacity !== null || p.row.capabilitiesAt !== null ? (
            <span
              data-testid="capabilities"
              title={p.row.capabilitiesAt ? `reported ${formatTime(p.row.capabilitiesAt)}` : undefined}
            >
              {capacitySummary(p.row.capacity) || 'reported'}
            </span>
          ) : (
            <Box component="span" sx={{ color: 'text.secondary' }} data-testid="capabilities">
              not reported
            </Box>
          ),
      },
    ],
    [modelNames, setCordon, open, mayCordon, mayLabel, mayModel, mayRemove],
  );

  return (
    <PresenceReportContext.Provider value={report}>
      <Box sx={{ height: 640 }}>
        <DataGrid
          rows={nodes}
          rowCount={total}
          columns={columns}
          getRowId={(r) => r.uid}
          loading={loading}
          density="compact"
          rowHeight={44}
          disableRowSelectionOnClick
          keepNonExistentRowsSelected
          checkboxSelection={mayBulk}
          rowSelectionModel={{ type: 'include', ids: new Set(selected) }}
          onRowSelectionModelChange={(m) => onSelectedChange(selectedUids(m, nodes))}
          paginationMode="server"
          sortingMode="server"
          filterMode="server"
          paginationModel={paginationModel}
          onPaginationModelChange={onPaginationModelChange}
          sortModel={sortModel}
          onSortModelChange={onSortModelChange}
          sortingOrder={['asc', 'desc']}
          disableColumnFilter
          showToolbar
          slotProps={{
            // The page's site, presence and search fields ask the server; the grid sees one page only.
            toolbar: {
              showQuickFilter: false,
              csvOptions: { disableToolbarButton: true },
              printOptions: { disableToolbarButton: true },
            },
          }}
          pageSizeOptions={[25, 50, 100]}
          data-testid="nodes-grid"
          aria-label="Nodes"
        />
      </Box>
      {dialog?.kind === 'labels' ? (
        <EditLabelsDialog node={dialog.node} onClose={() => setDialog(null)} />
      ) : null}
      {dialog?.kind === 'model' ? (
        <SetModelDialog node={dialog.node} models={models} onClose={() => setDialog(null)} />
      ) : null}
      <ConfirmDialog
        open={dialog?.kind === 'remove'}
        title={`Remove node ${dialog?.node.name ?? ''}?`}
        onClose={() => setDialog(null)}
        onConfirm={async () => {
          await api.nodes.remove({ name: dialog!.node.name });
          await qc.invalidateQueries({ queryKey: ['nodes'] });
        }}
      >
        The node's record leaves the fleet; it must enroll again to come back. A node that still has
        deployments cannot be removed.
      </ConfirmDialog>
      <Snackbar open={failure !== null} autoHideDuration={8000} onClose={() => setFailure(null)}>
        <div>{failure ? <ProblemAlert error={failure} /> : undefined}</div>
      </Snackbar>
    </PresenceReportContext.Provider>
  );
}

/** Uids of the selected rows; "select all" on a page gives every row of the page but the excluded ones. */
function selectedUids(m: GridRowSelectionModel, nodes: Node[]): string[] {
  if (m.type === 'exclude') return nodes.filter((n) => !m.ids.has(n.uid)).map((n) => n.uid);
  return [...m.ids].map(String);
}
