import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { Box, Stack } from '@mui/material';
import { useSession } from '../../session.js';
import { api } from '../../api.js';
import { PageHeader } from '../../components/PageHeader.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { KeysCard } from './KeysCard.js';
import { StreamsCard } from './StreamsCard.js';
import { DrivesCard } from './DrivesCard.js';
import { ImportCard, sourceKey, type ImportSource } from './ImportCard.js';
import { ExportDialog, type ExportTarget } from './ExportDialog.js';

/**
 * The Air gap page (issue 13): bundles carried on removable drives between HQ and sites that have no
 * network path to it. Keys and trust, the last bundle each way per site, export with progress, import
 * with a verification report before anything changes, and the drives the server sees.
 */
export function AirGapPage() {
  const identity = useQuery({ queryKey: ['bundles', 'identity'], queryFn: () => api.bundle.identity({}) });
  const mayDrives = useSession().can('bundle.drives').allowed;
  const drives = useQuery({ queryKey: ['drives'], queryFn: () => api.bundle.drives({}), enabled: mayDrives });
  const [exporting, setExporting] = useState<ExportTarget | null>(null);
  const [source, setSource] = useState<ImportSource | null>(null);
  const id = identity.data;
  return (
    <Box data-testid="airgap-page">
      <PageHeader
        title="Air gap"
        text={
          id
            ? id.role === 'lo'
              ? `This LO serves site ${id.siteId}: it imports HQ's bundles and writes status bundles for ${id.statusTarget}.`
              : `This server is HQ "${id.hqId}": it writes bundles for air-gapped sites and imports their status bundles.`
            : 'Signed bundles on removable drives, for sites with no network path to HQ.'
        }
      />
      {identity.error ? <ErrorAlert error={identity.error} /> : null}
      {id ? (
        <Stack spacing={2}>
          <StreamsCard identity={id} onExport={setExporting} />
          <ImportCard key={sourceKey(source)} source={source} onSource={setSource} />
          <DrivesCard onPick={(b) => setSource({ kind: 'path', file: b.file, name: b.name })} />
          <KeysCard hq={id.role !== 'lo'} />
        </Stack>
      ) : null}
      <ExportDialog
        target={exporting}
        drives={drives.data?.drives ?? []}
        onClose={() => setExporting(null)}
      />
    </Box>
  );
}
