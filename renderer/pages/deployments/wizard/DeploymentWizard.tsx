import { useMemo, useState, type ReactNode } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  Box,
  Button,
  Card,
  CardContent,
  Chip,
  Skeleton,
  Stack,
  Step,
  StepButton,
  Stepper,
  Table,
  TableBody,
  TableCell,
  TableRow,
  TextField,
  Typography,
} from '@mui/material';
import ArrowBackIcon from '@mui/icons-material/ArrowBack';
import RocketLaunchIcon from '@mui/icons-material/RocketLaunch';
import { OutpostError } from '../../../../lib/errors/index.js';
import { api } from '../../../api.js';
import { navigate } from '../../../router.js';
import { ErrorAlert } from '../../../components/ErrorAlert.js';
import { ProblemAlert } from '../../../components/ProblemAlert.js';
import { PageHeader } from '../../../components/PageHeader.js';
import { ParametersForm } from '../ParametersForm.js';
import { RolloutFields, defaultRollout, rolloutOptions, type RolloutDraft } from '../RolloutFields.js';
import {
  buildForm,
  checkForm,
  initialRaws,
  problemsByParameter,
  reachesProfile,
  type RawValue,
} from '../parameters.js';
import { deploymentPath } from '../routes.js';
import { targetText } from '../DeploymentDetail.js';
import { useRefetchOn } from '../use-refetch-on.js';
import { AppStep } from './AppStep.js';
import { VersionStep, runtimeOf } from './VersionStep.js';
import { TargetStep } from './TargetStep.js';
import { PlacementPreview, type PlacementResult } from './PlacementPreview.js';
import { emptyTarget, targetOf, type TargetDraft } from './target.js';
import {
  APP,
  CONFIRM,
  PARAMETERS,
  PREVIEW,
  STEPS,
  TARGET,
  VERSION,
  deploymentNameProblem,
  stepOf,
} from './steps.js';

/**
 * The deployment wizard: application → version and profile → parameters (the form the description
 * defines, checked as the server checks) → target → placement preview (every candidate and why not) →
 * confirm. A refusal is shown on the step it concerns.
 */
export function DeploymentWizard({
  initialAppId,
  initialVersion,
}: {
  initialAppId?: string | undefined;
  initialVersion?: string | undefined;
}) {
  const qc = useQueryClient();
  const [step, setStep] = useState<number>(initialAppId ? VERSION : APP);
  const [appId, setAppId] = useState<string | null>(initialAppId ?? null);
  const [version, setVersion] = useState<string | null>(initialVersion ?? null);
  const [profileId, setProfileId] = useState<string | null>(null);
  const [edits, setEdits] = useState<Record<string, RawValue>>({});
  const [serverParams, setServerParams] = useState<Record<string, string[]>>({});
  const [target, setTarget] = useState<TargetDraft>(emptyTarget);
  const [rollout, setRollout] = useState<RolloutDraft>(defaultRollout);
  const [name, setName] = useState('');
  const nameProblem = deploymentNameProblem(name);
  const [refusal, setRefusal] = useState<{ step: number; error: unknown } | null>(null);

  const appQ = useQuery({
    queryKey: ['apps', 'get', appId ?? '', version ?? ''],
    queryFn: () => api.apps.get(version ? { id: appId!, version } : { id: appId! }),
    enabled: appId !== null,
  });
  const desc = appQ.data?.version.description;
  const effVersion = appQ.data?.version.version ?? version;
  const profile =
    desc?.deploymentProfiles.find((p) => p.id === profileId) ?? desc?.deploymentProfiles[0] ?? null;

  const sections = useMemo(() => (desc ? buildForm(desc) : []), [desc]);
  const initial = useMemo(() => (desc ? initialRaws(desc, sections) : {}), [desc, sections]);
  const raws = useMemo(() => ({ ...initial, ...edits }), [initial, edits]);
  const check = desc && profile ? checkForm(desc, profile.id, sections, raws, initial) : null;
  const unused = useMemo(
    () =>
      new Set(
        desc && profile
          ? Object.keys(desc.parameters).filter((p) => !reachesProfile(desc, profile.id, p))
          : [],
      ),
    [desc, profile],
  );
  const targetResult = targetOf(target);

  const placeInput =
    appId && effVersion && profile && 'target' in targetResult
      ? { appId, version: effVersion, profileId: profile.id, target: targetResult.target }
      : null;
  const placeKey = ['deployments', 'place', JSON.stringify(placeInput)] as const;
  const placeQ = useQuery({
    queryKey: placeKey,
    queryFn: () => api.deployments.place(placeInput!),
    enabled: placeInput !== null && step >= PREVIEW,
  });
  useRefetchOn('nodes', placeKey, placeInput !== null && step >= PREVIEW);
  const placement: PlacementResult | undefined = placeQ.data?.placement;

  const create = useMutation({
    mutationFn: () => {
      const r = rolloutOptions(rollout);
      return api.deployments.create({
        appId: appId!,
        version: effVersion!,
        profileId: profile!.id,
        ...(name.trim() ? { name: name.trim() } : {}),
        target: (targetResult as { target: NonNullable<typeof placeInput>['target'] }).target,
        parameters: check!.given,
        ...(r ? { rollout: r } : {}),
      });
    },
    onMutate: () => setRefusal(null),
    onSuccess: (view) => {
      qc.setQueryData(['deployments', 'get', view.id], view);
      void qc.invalidateQueries({ queryKey: ['deployments'] });
      navigate(deploymentPath(view.id));
    },
    onError: (err) => {
      const at = stepOf(err);
      setRefusal({ step: at, error: err });
      if (at === PARAMETERS)
        setServerParams(problemsByParameter(sections, OutpostError.from(err).errors).byParameter);
      if (at === PREVIEW) void qc.invalidateQueries({ queryKey: ['deployments', 'place'] });
      setStep(at);
    },
  });

  const done = [
    appId !== null,
    !!desc && !!profile,
    !!check?.ok,
    'target' in targetResult,
    !!placement?.placeable && !placeQ.isFetching,
  ];
  const reachable = (i: number) => done.slice(0, i).every(Boolean);

  const pickVersion = (v: string | null) => {
    setVersion(v);
    setProfileId(null);
    setEdits({});
    setServerParams({});
  };
  const onParam = (p: string, raw: RawValue) => {
    setEdits((e) => ({ ...e, [p]: raw }));
    setServerParams(({ [p]: _gone, ...rest }) => rest);
  };

  let body: ReactNode;
  if (step !== APP && appId && !appQ.data)
    body = appQ.error ? <ErrorAlert error={appQ.error} /> : <Skeleton variant="rectangular" height={160} />;
  else if (step === APP)
    body = (
      <AppStep
        appId={appId}
        onPick={(a) => {
          if (a.id === appId) return;
          setAppId(a.id);
          pickVersion(null);
        }}
      />
    );
  else if (step === VERSION)
    body = (
      <VersionStep
        versions={[...(appQ.data?.app.versions ?? [])].reverse()}
        newest={appQ.data?.app.latestVersion ?? ''}
        version={effVersion ?? ''}
        onVersion={pickVersion}
        description={desc}
        profileId={profile?.id ?? null}
        onProfile={(id) => setProfileId(id)}
      />
    );
  else if (step === PARAMETERS)
    body = (
      <Stack spacing={2}>
        <Typography variant="body2" color="text.secondary">
          Values start at the application's defaults; only what you change is sent. Each value is checked
          against the description's rules as you type, with the same rules the server applies.
        </Typography>
        <ParametersForm
          sections={sections}
          raws={raws}
          problems={{ ...serverParams, ...(check?.problems ?? {}) }}
          onChange={onParam}
          unused={unused}
        />
        {check?.other.length ? (
          <ProblemAlert
            error={new OutpostError('invalid-input', 'not deployable as it is', { errors: check.other })}
          />
        ) : null}
      </Stack>
    );
  else if (step === TARGET)
    body = (
      <TargetStep
        value={target}
        onChange={setTarget}
        error={
          'error' in targetResult && (target.siteId || target.mode === 'nodes') ? targetResult.error : null
        }
      />
    );
  else if (step === PREVIEW)
    body = placeQ.error ? (
      <ErrorAlert error={placeQ.error} />
    ) : !placement ? (
      <Skeleton variant="rectangular" height={200} />
    ) : (
      <PlacementPreview placement={placement} />
    );
  else
    body = (
      <Stack spacing={2}>
        <Table
          size="small"
          sx={{ '& td:first-of-type': { width: 160, color: 'text.secondary' } }}
          data-testid="confirm-summary"
        >
          <TableBody>
            <TableRow>
              <TableCell>Application</TableCell>
              <TableCell>
                {desc?.metadata.name} ({appId}) <Chip size="small" label={effVersion} />
              </TableCell>
            </TableRow>
            <TableRow>
              <TableCell>Profile</TableCell>
              <TableCell>
                {profile?.id} <Chip size="small" color="secondary" label={profile?.type} />
                {profile && runtimeOf(profile) ? ` runtime ${runtimeOf(profile)}` : ''}
              </TableCell>
            </TableRow>
            <TableRow>
              <TableCell>Parameters</TableCell>
              <TableCell data-testid="confirm-parameters">
                {Object.entries(check?.given ?? {}).map(([k, v]) => (
                  <Chip
                    key={k}
                    size="small"
                    variant="outlined"
                    label={`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`}
                    sx={{ mr: 0.5 }}
                  />
                ))}
                {Object.keys(check?.given ?? {}).length ? 'and the defaults for the rest' : 'the defaults'}
              </TableCell>
            </TableRow>
            <TableRow>
              <TableCell>Target</TableCell>
              <TableCell>{'target' in targetResult ? targetText(targetResult.target) : ''}</TableCell>
            </TableRow>
            <TableRow>
              <TableCell>Placement</TableCell>
              <TableCell data-testid="confirm-placement">{placement?.summary}</TableCell>
            </TableRow>
          </TableBody>
        </Table>
        <TextField
          size="small"
          label="Name (optional)"
          helperText={
            nameProblem ??
            'lowercase letters, digits and dashes, starting and ending with a letter or digit; default: the application id and a suffix'
          }
          error={nameProblem !== null}
          value={name}
          onChange={(e) => setName(e.target.value)}
          sx={{ width: 420, maxWidth: '100%' }}
          slotProps={{
            htmlInput: { 'data-testid': 'deployment-name-input' },
            formHelperText: { 'data-testid': 'deployment-name-help' } as object,
          }}
        />
        <RolloutFields value={rollout} onChange={setRollout} />
      </Stack>
    );

  return (
    <Box data-testid="deployment-wizard" data-step={step}>
      <Button startIcon={<ArrowBackIcon />} onClick={() => navigate('/deployments')} sx={{ mb: 1 }}>
        Deployments
      </Button>
      <PageHeader
        title="New deployment"
        text="Choose what to run and where; placement shows which nodes take it and why the others do not."
      />
      <Card variant="outlined">
        <CardContent>
          <Stepper activeStep={step} nonLinear sx={{ mb: 3 }}>
            {STEPS.map((label, i) => (
              <Step key={label} completed={i < step && done[i]}>
                <StepButton
                  onClick={() => setStep(i)}
                  disabled={!reachable(i)}
                  data-testid={`wizard-step-${i}`}
                >
                  {label}
                </StepButton>
              </Step>
            ))}
          </Stepper>
          <Box sx={{ minHeight: 240 }} data-testid={`wizard-body-${step}`}>
            {body}
          </Box>
          {refusal && refusal.step === step ? (
            <Box sx={{ mt: 2 }}>
              <ProblemAlert error={refusal.error} title="The server refused the deployment" />
            </Box>
          ) : null}
          <Stack direction="row" spacing={1} sx={{ mt: 3, justifyContent: 'flex-end' }}>
            <Button disabled={step === APP} onClick={() => setStep(step - 1)} data-testid="wizard-back">
              Back
            </Button>
            {step < CONFIRM ? (
              <Button
                variant="contained"
                disabled={!done[step]}
                onClick={() => setStep(step + 1)}
                data-testid="wizard-next"
              >
                Next
              </Button>
            ) : (
              <Button
                variant="contained"
                startIcon={<RocketLaunchIcon />}
                disabled={create.isPending || !reachable(CONFIRM) || nameProblem !== null}
                onClick={() => create.mutate()}
                data-testid="wizard-deploy"
              >
                Deploy
              </Button>
            )}
          </Stack>
          {step === PREVIEW && placement && !placement.placeable ? (
            <Alert severity="info" sx={{ mt: 2 }}>
              Nothing can be deployed where no node fits: change the target or the profile.
            </Alert>
          ) : null}
        </CardContent>
      </Card>
    </Box>
  );
}
