import { useEffect, useRef, useState } from 'react';
import {
  Alert,
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  FormControlLabel,
  LinearProgress,
  MenuItem,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import { formatBytes, type Drive } from '../../../lib/contract/index.js';
import { api } from '../../api.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { JobProgress, useJob } from './JobProgress.js';
import { downloadExport } from './transfer.js';

/** What to export: a bundle for a site (HQ), or this site's status bundle (LO). */
export type ExportTarget = { kind: 'site'; siteId: string } | { kind: 'status' };

/**
 * Export a bundle: to this computer (a download), to a removable drive the server sees, or to a folder on
 * the server. The job's progress shows bytes, rate and time left; it can be cancelled.
 */
export function ExportDialog({
  target,
  drives,
  onClose,
}: {
  target: ExportTarget | null;
  drives: Drive[];
  onClose: () => void;
}) {
  const [where, setWhere] = useState<string>('download');
  const [folder, setFolder] = useState('');
  const [full, setFull] = useState(false);
  const [days, setDays] = useState('30');
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [down, setDown] = useState<{ got: number; total: number } | 'done' | null>(null);
  const job = useJob(jobId);

  const reset = () => {
    setJobId(null);
    setError(null);
    setDown(null);
    setFull(false);
  };
  const close = () => {
    reset();
    onClose();
  };
  const download = async (id: string, name: string) => {
    try {
      await downloadExport(id, name, (got, total) => setDown({ got, total }));
      setDown('done');
    } catch (err) {
      setDown(null);
      setError(err);
    }
  };
  const start = async () => {
    if (!target) return;
    setError(null);
    setDown(null);
    const dest = where === 'download' ? {} : where === 'folder' ? { out: folder.trim() } : { drive: where };
    const expiresDays = Number(days);
    const common = {
      full,
      ...dest,
      ...(Number.isFinite(expiresDays) && expiresDays > 0 ? { expiresDays } : {}),
    };
    try {
      const j =
        target.kind === 'site'
          ? await api.bundle.export({ siteId: target.siteId, ...common })
          : await api.bundle.exportStatus(common);
      setJobId(j.id);
    } catch (err) {
      setError(err);
    }
  };
  const d = job.data;
  const finished = d && d.state !== 'running';
  // A download export is fetched once, when the job has written the file.
  const fetched = useRef<string | null>(null);
  useEffect(() => {
    if (d?.state !== 'succeeded' || where !== 'download' || !d.result?.fileName || fetched.current === d.id)
      return;
    fetched.current = d.id;
    void download(d.id, d.result.fileName);
  }, [d?.state, d?.id, d?.result?.fileName, where]);

  return (
    <Dialog
      open={target !== null}
      onClose={() => d?.state !== 'running' && close()}
      fullWidth
      maxWidth="md"
      data-testid="export-dialog"
    >
      <DialogTitle>
        {target?.kind === 'site' ? `Export a bundle for ${target.siteId}` : 'Export the status bundle for HQ'}
      </DialogTitle>
      <DialogContent>
        <Stack spacing={2} sx={{ mt: 1 }}>
          <TextField
            select
            label="Write to"
            value={where}
            onChange={(e) => setWhere(e.target.value)}
            disabled={jobId !== null}
          >
            <MenuItem value="download">this computer (download)</MenuItem>
            {drives.map((dr) => (
              <MenuItem key={dr.mountpoint} value={dr.mountpoint}>
                drive {dr.label ?? dr.device} at {dr.mountpoint}
                {dr.freeBytes !== null ? ` (${formatBytes(dr.freeBytes)} free)` : ''}
              </MenuItem>
            ))}
            <MenuItem value="folder">a folder on the server</MenuItem>
          </TextField>
          {where === 'folder' ? (
            <TextField
              label="Folder or file on the server"
              value={folder}
              onChange={(e) => setFolder(e.target.value)}
              disabled={jobId !== null}
              slotProps={{ htmlInput: { 'data-testid': 'export-folder' } }}
            />
          ) : null}
          <Stack direction="row" spacing={2}>
            <FormControlLabel
              control={
                <Checkbox
                  checked={full}
                  onChange={(e) => setFull(e.target.checked)}
                  disabled={jobId !== null}
                />
              }
              label={
                target?.kind === 'site'
                  ? 'everything (not only what the site lacks)'
                  : 'everything (not only what HQ lacks)'
              }
            />
            <TextField
              label="Expires after (days)"
              size="small"
              value={days}
              onChange={(e) => setDays(e.target.value)}
              disabled={jobId !== null}
              sx={{ width: 180 }}
            />
          </Stack>
          {error ? <ErrorAlert error={error} /> : null}
          {d ? <JobProgress job={d} testId="export-job" /> : null}
          {d?.state === 'succeeded' && d.result ? (
            <Alert severity="success" data-testid="export-done">
              Wrote {d.result.fileName} (bundle #{d.result.summary?.sequence},{' '}
              {formatBytes(d.result.size ?? 0)}){where === 'download' ? '' : ` to ${d.result.file}`}.
            </Alert>
          ) : null}
          {down !== null && down !== 'done' ? (
            <Stack>
              <Typography variant="caption">
                downloading {formatBytes(down.got)} of {formatBytes(down.total)}
              </Typography>
              <LinearProgress
                variant="determinate"
                value={down.total ? (down.got / down.total) * 100 : 100}
              />
            </Stack>
          ) : null}
          {down === 'done' ? (
            <Typography variant="body2" data-testid="export-downloaded">
              Downloaded.{' '}
              <Button size="small" onClick={() => void download(d!.id, d!.result!.fileName!)}>
                Download again
              </Button>
            </Typography>
          ) : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={close} disabled={d?.state === 'running'}>
          {finished ? 'Close' : 'Cancel'}
        </Button>
        {finished ? (
          <Button onClick={reset}>Another</Button>
        ) : (
          <Button
            variant="contained"
            onClick={() => void start()}
            disabled={jobId !== null || (where === 'folder' && !folder.trim())}
            data-testid="export-start"
          >
            Export
          </Button>
        )}
      </DialogActions>
    </Dialog>
  );
}
