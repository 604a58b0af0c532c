import { createContext, useContext, useMemo, useState } from 'react';
import {
  Box,
  Button,
  Chip,
  Popover,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableRow,
  Typography,
} from '@mui/material';
import { DataGrid, type GridColDef } from '@mui/x-data-grid';
import ExpandMoreIcon from '@mui/icons-material/ExpandMore';
import type { DeploymentNode, Presence } from '../../../lib/contract/index.js';
import { formatAge, formatTime } from '../../format.js';
import { Age } from './now.js';
import { NodeStateChips } from './StateChip.js';
import { STATE_ORDER, nodeStateDisplay, type ServerTime } from './node-state.js';
import { WorkloadLogsDialog } from './WorkloadLogsDialog.js';
import { GatedButton } from '../../components/RoleGate.js';

/** When the rows were answered (server clock) and received (browser clock): shared by every age cell. */
const TimeContext = createContext<ServerTime>({ serverNow: 0, receivedAt: 0 });
/** Opens the Logs view of a node's workloads. */
const LogsContext = createContext<(node: DeploymentNode) => void>(() => undefined);

function LogsCell({ node }: { node: DeploymentNode }) {
  const open = useContext(LogsContext);
  return (
    <GatedButton
      channel="nodes.workloadLogs"
      size="small"
      onClick={(e) => {
        e.stopPropagation();
        open(node);
      }}
      title={`the output of this deployment's workloads on ${node.nodeName} (asked of its agent)`}
      data-testid="node-logs"
    >
      Logs
    </GatedButton>
  );
}

/** When the node reached its state (the report's event time); how much later it arrived, when it waited. */
function ReportedCell({ node }: { node: DeploymentNode }) {
  const time = useContext(TimeContext);
  const late = node.stateAt !== null && node.receivedAt !== null ? node.receivedAt - node.stateAt : 0;
  return (
    <span
      title={
        node.stateAt === null
          ? undefined
          : `happened ${formatTime(node.stateAt)}${node.receivedAt !== null ? `, arrived ${formatTime(node.receivedAt)}` : ''}`
      }
    >
      <Age at={node.stateAt} time={time} never="no report yet" testId="node-reported" />
      {late >= 2000 ? (
        <Typography component="span" variant="caption" color="text.secondary" data-testid="node-arrived-late">
          {` (arrived ${formatAge(late)} later)`}
        </Typography>
      ) : null}
    </span>
  );
}

const PRESENCE_COLORS: Record<Presence, 'success' | 'warning' | 'error' | 'default'> = {
  online: 'success',
  stale: 'warning',
  offline: 'error',
  unknown: 'default',
};

function LastSeenCell({ node }: { node: DeploymentNode }) {
  const time = useContext(TimeContext);
  return (
    <Stack direction="row" spacing={1} sx={{ alignItems: 'center', height: '100%' }}>
      <Chip
        size="small"
        variant="outlined"
        color={PRESENCE_COLORS[node.presence]}
        label={node.presence}
        data-testid="node-presence"
        data-presence={node.presence}
      />
      <Typography variant="caption" color="text.secondary">
        <Age at={node.lastSeenAt} time={time} testId="node-last-seen" />
      </Typography>
    </Stack>
  );
}

function errorText(n: DeploymentNode): string {
  return n.error?.message ?? n.components.find((c) => c.error?.message)?.error?.message ?? '';
}

/** "2/3 installed" and, on click, each component with its state and error. */
function ComponentsCell({ node }: { node: DeploymentNode }) {
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  const n = node.components.length;
  if (n === 0)
    return (
      <Typography variant="caption" color="text.secondary">
        none reported
      </Typography>
    );
  const installed = node.components.filter((c) => c.state === 'installed').length;
  return (
    <>
      <Button
        size="small"
        variant="outlined"
        endIcon={<ExpandMoreIcon />}
        sx={{ py: 0 }}
        onClick={(e) => {
          e.stopPropagation();
          setAnchor(e.currentTarget);
        }}
        data-testid="node-components"
        aria-expanded={anchor !== null}
      >
        {installed}/{n} installed
      </Button>
      <Popover
        open={anchor !== null}
        anchorEl={anchor}
        onClose={() => setAnchor(null)}
        anchorOrigin={{ vertical: 'bottom', horizontal: 'left' }}
      >
        <Box sx={{ p: 1.5, maxWidth: 520 }} data-testid="component-states">
          <Typography variant="subtitle2" gutterBottom>
            Components of {node.nodeName}
          </Typography>
          <Table size="small">
            <TableBody>
              {node.components.map((c) => (
                <TableRow key={c.name} data-testid="component-state" data-name={c.name} data-state={c.state}>
                  <TableCell>
                    <code>{c.name}</code>
                  </TableCell>
                  <TableCell>
                    <Chip
                      size="small"
                      label={c.state}
                      color={c.state === 'failed' ? 'error' : c.state === 'installed' ? 'success' : 'default'}
                      variant="outlined"
                    />
                  </TableCell>
                  <TableCell>
                    {c.error
                      ? [c.error.code, c.error.source, c.error.message].filter(Boolean).join(' · ')
                      : ''}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </Box>
      </Popover>
    </>
  );
}

/**
 * A node's error: as much as fits, and a button that looks like one ("Details") opening the whole text
 * with each component's error, so nothing is only in a tooltip or behind a plain-looking cell.
 */
function ErrorCell({ node, text }: { node: DeploymentNode; text: string }) {
  const [anchor, setAnchor] = useState<HTMLElement | null>(null);
  if (!text) return null;
  const errors = [
    ...(node.error ? [{ name: null, e: node.error }] : []),
    ...node.components.filter((c) => c.error).map((c) => ({ name: c.name, e: c.error! })),
  ];
  return (
    <Stack direction="row" spacing={0.5} sx={{ alignItems: 'center', height: '100%', minWidth: 0 }}>
      <Box
        component="span"
        sx={{
          color: 'error.main',
          overflow: 'hidden',
          textOverflow: 'ellipsis',
          whiteSpace: 'nowrap',
          minWidth: 0,
          flex: 1,
        }}
        data-testid="node-error"
      >
        {text}
      </Box>
      <Button
        size="small"
        variant="outlined"
        color="error"
        endIcon={<ExpandMoreIcon />}
        sx={{ flexShrink: 0, py: 0, minWidth: 0 }}
        onClick={(e) => {
          e.stopPropagation();
          setAnchor(e.currentTarget);
        }}
        aria-expanded={anchor !== null}
        aria-label={`the whole error of ${node.nodeName}`}
        data-testid="node-error-details"
      >
        Details
      </Button>
      <Popover
        open={anchor !== null}
        anchorEl={anchor}
        onClose={() => setAnchor(null)}
        anchorOrigin={{ vertical: 'bottom', horizontal: 'right' }}
        transformOrigin={{ vertical: 'top', horizontal: 'right' }}
      >
        <Box sx={{ p: 1.5, maxWidth: 560 }} data-testid="node-error-full">
          <Typography variant="subtitle2" component="h2" gutterBottom>
            Error on {node.nodeName}
          </Typography>
          {errors.map(({ name, e }, i) => (
            <Box key={i} sx={{ mb: 1 }}>
              {name ? (
                <Typography variant="caption" color="text.secondary" component="div">
                  component <code>{name}</code>
                </Typography>
              ) : null}
              <Typography
                variant="body2"
                sx={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}
                data-testid="node-error-text"
              >
                {e.message}
              </Typography>
              {e.code || e.source ? (
                <Typography variant="caption" color="text.secondary" component="div">
                  {[e.code, e.source].filter(Boolean).join(' · ')}
                </Typography>
              ) : null}
            </Box>
          ))}
        </Box>
      </Popover>
    </Stack>
  );
}

const rowId = (r: DeploymentNode) => r.nodeUid;

// The error comes third: on a narrow window (1024 px) it is in sight without scrolling the grid sideways.
const columns: GridColDef<DeploymentNode>[] = [
  { field: 'nodeName', headerName: 'Node', width: 150 },
  {
    field: 'state',
    headerName: 'State',
    width: 165,
    valueGetter: (_v, row) => nodeStateDisplay(row).label,
    sortComparator: (a: string, b: string) => (STATE_ORDER[a] ?? 9) - (STATE_ORDER[b] ?? 9),
    renderCell: (p) => <NodeStateChips node={p.row} />,
  },
  {
    field: 'error',
    headerName: 'Error',
    flex: 1,
    minWidth: 200,
    valueGetter: (_v, row) => errorText(row),
    renderCell: (p) => <ErrorCell node={p.row} text={p.value as string} />,
  },
  { field: 'siteId', headerName: 'Site', width: 100 },
  { field: 'version', headerName: 'Version', width: 80 },
  {
    field: 'stateAt',
    headerName: 'Reported',
    width: 110,
    // Oldest report first when ascending; never reported sorts first.
    valueGetter: (_v, row) => row.stateAt ?? 0,
    renderCell: (p) => <ReportedCell node={p.row} />,
  },
  {
    field: 'lastSeenAt',
    headerName: 'Presence · last seen',
    width: 170,
    valueGetter: (_v, row) => row.lastSeenAt ?? 0,
    renderCell: (p) => <LastSeenCell node={p.row} />,
  },
  {
    field: 'components',
    headerName: 'Components',
    width: 150,
    sortable: false,
    valueGetter: (_v, row) => row.components.length,
    renderCell: (p) => <ComponentsCell node={p.row} />,
  },
  {
    field: 'logs',
    headerName: 'Logs',
    width: 80,
    sortable: false,
    filterable: false,
    renderCell: (p) => <LogsCell node={p.row} />,
  },
];

/**
 * The nodes of a deployment. The DataGrid renders only the visible rows (and pages at 100, the MIT
 * grid's limit), the columns are defined once, and the ages tick through the page's one clock, so
 * ten thousand nodes stay fluid.
 */
export function DeploymentNodesGrid({
  deploymentId,
  nodes,
  serverNow,
  receivedAt,
  loading = false,
}: {
  deploymentId: string;
  nodes: DeploymentNode[];
  serverNow: number;
  receivedAt: number;
  loading?: boolean;
}) {
  const time = useMemo(() => ({ serverNow, receivedAt }), [serverNow, receivedAt]);
  const [logsOf, setLogsOf] = useState<string | null>(null);
  return (
    <TimeContext.Provider value={time}>
      <LogsContext.Provider value={(n) => setLogsOf(n.nodeName)}>
        {/* A fixed height (which virtualisation needs), smaller for a few rows. Never 'auto': the grid's
            sideways scrollbar (a narrow window) would then lie over the last row and take its clicks. */}
        <Box sx={{ height: nodes.length > 10 ? 560 : 200 + Math.max(1, nodes.length) * 44 }}>
          <DataGrid
            rows={nodes}
            columns={columns}
            getRowId={rowId}
            loading={loading}
            density="compact"
            rowHeight={44}
            disableRowSelectionOnClick
            showToolbar
            // Every column is rendered (there are few; rows stay virtualised): on a narrow window the
            // ones scrolled out of sight (Logs, Error) are still there for the keyboard and screen readers.
            columnBufferPx={2000}
            initialState={{
              pagination: { paginationModel: { pageSize: 100 } },
              sorting: { sortModel: [{ field: 'nodeName', sort: 'asc' }] },
            }}
            pageSizeOptions={[25, 50, 100]}
            data-testid="deployment-nodes"
            aria-label="Nodes of the deployment"
          />
        </Box>
      </LogsContext.Provider>
      {logsOf !== null ? (
        <WorkloadLogsDialog deploymentId={deploymentId} node={logsOf} onClose={() => setLogsOf(null)} />
      ) : null}
    </TimeContext.Provider>
  );
}
