import { useMemo, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  MenuItem,
  Skeleton,
  Stack,
  TextField,
  Typography,
} from '@mui/material';
import type { DeploymentView } from '../../../lib/contract/index.js';
import { OutpostError } from '../../../lib/errors/index.js';
import { api } from '../../api.js';
import { ErrorAlert } from '../../components/ErrorAlert.js';
import { ProblemAlert } from '../../components/ProblemAlert.js';
import { ParametersForm } from './ParametersForm.js';
import { RolloutFields, defaultRollout, rolloutOptions, type RolloutDraft } from './RolloutFields.js';
import {
  buildForm,
  checkForm,
  initialRaws,
  problemsByParameter,
  reachesProfile,
  type Description,
  type RawValue,
} from './parameters.js';

/** Change a deployment's version and/or parameter values; the form starts from what it runs with. */
export function UpdateDeploymentDialog({
  deployment,
  onClose,
}: {
  deployment: DeploymentView;
  onClose: () => void;
}) {
  const [version, setVersion] = useState(deployment.version);
  const appQ = useQuery({
    queryKey: ['apps', 'get', deployment.appId, version],
    queryFn: () => api.apps.get({ id: deployment.appId, version }),
  });
  const versions = appQ.data ? [...appQ.data.app.versions].reverse() : [deployment.version];
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="md" data-testid="update-dialog">
      <DialogTitle>
        Update deployment {deployment.name}
        <Typography variant="body2" color="text.secondary">
          {deployment.appId} {deployment.version} · profile {deployment.profileId}
        </Typography>
      </DialogTitle>
      {appQ.error ? (
        <DialogContent>
          <ErrorAlert error={appQ.error} />
        </DialogContent>
      ) : !appQ.data ? (
        <DialogContent>
          <Skeleton variant="rectangular" height={200} />
        </DialogContent>
      ) : (
        <UpdateForm
          key={version}
          deployment={deployment}
          description={appQ.data.version.description}
          version={version}
          versions={versions}
          newest={appQ.data.app.latestVersion}
          onVersion={setVersion}
          onClose={onClose}
        />
      )}
    </Dialog>
  );
}

function UpdateForm({
  deployment,
  description,
  version,
  versions,
  newest,
  onVersion,
  onClose,
}: {
  deployment: DeploymentView;
  description: Description;
  version: string;
  versions: string[];
  newest: string;
  onVersion: (v: string) => void;
  onClose: () => void;
}) {
  const qc = useQueryClient();
  const sections = useMemo(() => buildForm(description), [description]);
  const [initial] = useState(() => initialRaws(description, sections, deployment.parameters));
  const [raws, setRaws] = useState<Record<string, RawValue>>(initial);
  const [rollout, setRollout] = useState<RolloutDraft>(defaultRollout);
  const [serverProblems, setServerProblems] = useState<Record<string, string[]>>({});
  const profileKnown = description.deploymentProfiles.some((p) => p.id === deployment.profileId);
  const check = checkForm(description, deployment.profileId, sections, raws, initial, deployment.parameters);
  const unused = useMemo(
    () =>
      new Set(
        Object.keys(description.parameters).filter(
          (p) => !reachesProfile(description, deployment.profileId, p),
        ),
      ),
    [description, deployment.profileId],
  );
  const changed = version !== deployment.version || Object.keys(check.given).length > 0;
  const update = useMutation({
    mutationFn: () => {
      const r = rolloutOptions(rollout);
      return api.deployments.update({
        id: deployment.id,
        ...(version !== deployment.version ? { version } : {}),
        ...(Object.keys(check.given).length ? { parameters: check.given } : {}),
        ...(r ? { rollout: r } : {}),
      });
    },
    onSuccess: (view) => {
      qc.setQueryData(['deployments', 'get', deployment.id], view);
      void qc.invalidateQueries({ queryKey: ['deployments'] });
      onClose();
    },
    onError: (err) =>
      setServerProblems(problemsByParameter(sections, OutpostError.from(err).errors).byParameter),
  });
  const onChange = (p: string, raw: RawValue) => {
    setRaws((r) => ({ ...r, [p]: raw }));
    setServerProblems(({ [p]: _gone, ...rest }) => rest);
  };
  const problems = { ...serverProblems, ...check.problems };
  return (
    <>
      <DialogContent dividers>
        <Stack spacing={3}>
          <TextField
            select
            size="small"
            label="Version"
            value={version}
            onChange={(e) => onVersion(e.target.value)}
            sx={{ width: 220 }}
            helperText={
              version === deployment.version ? 'the version it runs now' : `from ${deployment.version}`
            }
            slotProps={{ select: { SelectDisplayProps: { 'data-testid': 'update-version' } as object } }}
          >
            {versions.map((v) => (
              <MenuItem key={v} value={v} data-testid="update-version-option" data-value={v}>
                {v}
                {v === newest ? ' (newest)' : ''}
                {v === deployment.version ? ' (running)' : ''}
              </MenuItem>
            ))}
          </TextField>
          {!profileKnown ? (
            <Alert severity="warning">
              Version {version} has no deployment profile "{deployment.profileId}": the server will refuse it.
            </Alert>
          ) : null}
          <Box>
            <Typography variant="subtitle2" gutterBottom>
              Parameters
            </Typography>
            <ParametersForm
              sections={sections}
              raws={raws}
              problems={problems}
              onChange={onChange}
              unused={unused}
              lockImmutable
            />
          </Box>
          <Box>
            <Typography variant="subtitle2" gutterBottom>
              How the change rolls out
            </Typography>
            <RolloutFields value={rollout} onChange={setRollout} />
          </Box>
          {check.other.length ? (
            <ProblemAlert
              error={
                new OutpostError('invalid-input', 'the server would refuse these values', {
                  errors: check.other,
                })
              }
            />
          ) : null}
          {update.error ? <ProblemAlert error={update.error} title="The server refused the update" /> : null}
        </Stack>
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} disabled={update.isPending}>
          Cancel
        </Button>
        <Button
          variant="contained"
          onClick={() => update.mutate()}
          disabled={update.isPending || !changed || !check.ok}
          data-testid="update-submit"
        >
          Update
        </Button>
      </DialogActions>
    </>
  );
}
