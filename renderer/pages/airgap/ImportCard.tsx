import { useState } from 'react';
import { Alert, Box, Card, CardContent, LinearProgress, Stack, Typography } from '@mui/material';
import { formatBytes } from '../../../lib/contract/index.js';
import { GatedButton } from '../../components/RoleGate.js';
import { api } from '../../api.js';
import { FileField } from '../../components/FileField.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { JobProgress, useJob } from './JobProgress.js';
import { ReportView } from './ReportView.js';
import { uploadFile } from './transfer.js';

/** A bundle to import: a file picked here (uploaded), or a file on a drive the server sees. */
export type ImportSource = { kind: 'upload'; file: File } | { kind: 'path'; file: string; name: string };

/** A key that changes with the source, so the card starts over for another file. */
export function sourceKey(s: ImportSource | null): string {
  if (!s) return 'none';
  return s.kind === 'path' ? `path:${s.file}` : `upload:${s.file.name}:${s.file.size}:${s.file.lastModified}`;
}

/**
 * Import: the bundle is verified first (nothing changes) and the report shows what it would change;
 * only then can the operator apply it. A refusal is shown in one line with its reason.
 */
export function ImportCard({
  source,
  onSource,
}: {
  source: ImportSource | null;
  onSource: (s: ImportSource | null) => void;
}) {
  const [uploadId, setUploadId] = useState<string | null>(null);
  const [uploading, setUploading] = useState<{ sent: number; total: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [verifyId, setVerifyId] = useState<string | null>(null);
  const [importId, setImportId] = useState<string | null>(null);
  const verify = useJob(verifyId);
  const imported = useJob(importId);

  const target = () =>
    source?.kind === 'path' ? { file: source.file } : uploadId ? { uploadId } : undefined;

  const startVerify = async () => {
    setError(null);
    setVerifyId(null);
    setImportId(null);
    try {
      let input = target();
      if (!input && source?.kind === 'upload') {
        const id = await uploadFile(source.file, (sent, total) => setUploading({ sent, total }));
        setUploadId(id);
        setUploading(null);
        input = { uploadId: id };
      }
      if (!input) return;
      setVerifyId((await api.bundle.verify(input)).id);
    } catch (err) {
      setUploading(null);
      setError(err);
    }
  };
  const startImport = async () => {
    setError(null);
    try {
      const input = target();
      if (input) setImportId((await api.bundle.import(input)).id);
    } catch (err) {
      setError(err);
    }
  };

  const report = verify.data?.state === 'succeeded' ? verify.data.result?.report : null;
  return (
    <Card variant="outlined" data-testid="import-card">
      <CardContent>
        <Typography variant="h6" gutterBottom>
          Import a bundle
        </Typography>
        <Typography variant="body2" color="text.secondary" gutterBottom>
          An HQ bundle at a site, a site&apos;s status bundle at HQ. It is verified first (signature, every
          digest, sequence, expiry, site, fast-forward) and changes nothing until you apply it.
        </Typography>
        <Stack spacing={2}>
          <FileField
            label="Choose bundle file"
            accept=".tar"
            file={source?.kind === 'upload' ? source.file : null}
            onFile={(f) => onSource(f ? { kind: 'upload', file: f } : null)}
            testId="import-file"
          />
          {source?.kind === 'path' ? (
            <Typography variant="body2" data-testid="import-path">
              {source.name} on the drive ({source.file})
            </Typography>
          ) : null}
          <Stack direction="row" spacing={1}>
            <GatedButton
              channel="bundle.verify"
              variant="outlined"
              disabled={
                !source || uploading !== null || verify.data?.state === 'running' || importId !== null
              }
              onClick={() => void startVerify()}
              data-testid="verify-button"
            >
              Verify
            </GatedButton>
            <GatedButton
              channel="bundle.import"
              variant="contained"
              disabled={!report || importId !== null}
              onClick={() => void startImport()}
              data-testid="import-button"
            >
              Apply import
            </GatedButton>
          </Stack>
          {uploading ? (
            <Box data-testid="upload-progress">
              <Typography variant="caption">
                uploading {formatBytes(uploading.sent)} of {formatBytes(uploading.total)}
              </Typography>
              <LinearProgress
                variant="determinate"
                value={uploading.total ? (uploading.sent / uploading.total) * 100 : 100}
              />
            </Box>
          ) : null}
          {error ? <ErrorAlert error={error} /> : null}
          {verify.data ? <JobProgress job={verify.data} testId="verify-job" /> : null}
          {report ? <ReportView report={report} /> : null}
          {imported.data ? <JobProgress job={imported.data} testId="import-job" /> : null}
          {imported.data?.state === 'succeeded' ? (
            <Alert severity="success" data-testid="import-done">
              Imported bundle #{imported.data.result?.report?.sequence} from{' '}
              {imported.data.result?.report?.source}.
            </Alert>
          ) : null}
        </Stack>
      </CardContent>
    </Card>
  );
}
