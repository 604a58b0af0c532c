import {
  Box,
  Card,
  CardActionArea,
  CardActions,
  CardContent,
  Chip,
  Link,
  Stack,
  Typography,
} from '@mui/material';
import type { DeviceModel } from '../../../lib/contract/index.js';
import { EntityAvatar } from '../../components/EntityAvatar.js';

/** One device model: picture, vendor and model number, runtimes, deployment types, docs, node count. */
export function DeviceModelCard({ model: m, onOpen }: { model: DeviceModel; onOpen: () => void }) {
  return (
    <Card
      variant="outlined"
      data-testid="device-model-card"
      data-model-id={m.id}
      sx={{ height: '100%', display: 'flex', flexDirection: 'column' }}
    >
      <CardActionArea onClick={onOpen} sx={{ flexGrow: 1, alignItems: 'flex-start' }}>
        <CardContent>
          <Stack direction="row" spacing={2} sx={{ alignItems: 'flex-start' }}>
            <EntityAvatar icon={m.icon} name={m.name} testId="device-model-icon" />
            <Box sx={{ minWidth: 0 }}>
              <Typography variant="h6" noWrap data-testid="device-model-name">
                {m.name}
              </Typography>
              <Typography variant="body2" color="text.secondary" noWrap>
                <span data-testid="device-model-vendor">{m.vendor}</span> ·{' '}
                <span data-testid="device-model-number">{m.modelNumber}</span>
              </Typography>
            </Box>
          </Stack>
          {m.description ? (
            <Typography variant="body2" sx={{ mt: 1.5 }}>
              {m.description}
            </Typography>
          ) : null}
          <ChipRow label="Runtimes" values={m.runtimes} testId="runtime-chip" />
          <ChipRow label="Deployment types" values={m.deploymentTypes} testId="deployment-type-chip" />
        </CardContent>
      </CardActionArea>
      <CardActions sx={{ justifyContent: 'space-between', px: 2 }}>
        <Typography variant="body2" data-testid="device-model-node-count" data-value={m.nodeCount}>
          {m.nodeCount === 1 ? '1 node' : `${m.nodeCount} nodes`}
        </Typography>
        {m.documentationUrl ? (
          <Link
            href={m.documentationUrl}
            target="_blank"
            rel="noopener noreferrer"
            variant="body2"
            data-testid="device-model-docs"
          >
            Documentation
          </Link>
        ) : null}
      </CardActions>
    </Card>
  );
}

export function ChipRow({ label, values, testId }: { label: string; values: string[]; testId: string }) {
  return (
    <Stack direction="row" spacing={0.5} sx={{ flexWrap: 'wrap', rowGap: 0.5, mt: 1, alignItems: 'center' }}>
      <Typography variant="caption" color="text.secondary" sx={{ mr: 0.5 }}>
        {label}
      </Typography>
      {values.map((v) => (
        <Chip key={v} size="small" variant="outlined" label={v} data-testid={testId} />
      ))}
    </Stack>
  );
}
