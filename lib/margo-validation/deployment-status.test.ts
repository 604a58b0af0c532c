import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { overallState, type DeploymentState, DEPLOYMENT_STATES } from '../model/index.js';
import { parseDeploymentStatus } from './index.js';
import { readTestdata, thrown } from '../margo/test-helpers.js';

const ID = 'a3e2f5dc-912e-494f-8395-52cf3769bc06';
const rc2 = (): Record<string, unknown> =>
  JSON.parse(readTestdata('examples/deployment-status-example-rc2.json').toString('utf8')) as Record<
    string,
    unknown
  >;
const rc3 = () => ({
  deploymentId: ID,
  deviceId: 'gw-01/edge-02',
  adoptedManifestVersion: 7,
  status: { state: 'failed', error: { code: 'PULL', source: 'web', message: 'manifest unknown' } },
  components: [
    { name: 'db', state: 'installed' },
    { name: 'web', state: 'failed', error: { code: 'PULL', source: 'web', message: 'manifest unknown' } },
  ],
});

describe('parseDeploymentStatus', () => {
  it('reads an rc.3 body', () => {
    expect(parseDeploymentStatus(rc3(), { pathDeploymentId: ID })).toEqual(rc3());
  });

  it('refuses the rc.2 example by default (422: adoptedManifestVersion is required in rc.3)', () => {
    const err = thrown(() => parseDeploymentStatus(rc2(), { pathDeploymentId: ID }));
    expect(err.code).toBe('margo/semantic-error');
    expect(err.status).toBe(422);
    expect(err.errors).toEqual([
      { field: 'adoptedManifestVersion', message: expect.stringContaining('is required (rc.3)') as string },
    ]);
  });

  it('reads the rc.2 example in legacy mode: version 0, empty errors dropped', () => {
    const s = parseDeploymentStatus(rc2(), {
      pathDeploymentId: ID,
      allowMissingAdoptedManifestVersion: true,
    });
    expect(s).toEqual({
      deploymentId: ID,
      deviceId: 'plant-alfa-zone1-edge01',
      adoptedManifestVersion: 0,
      status: { state: 'pending' },
      components: [
        { name: 'digitron-orchestrator', state: 'pending' },
        { name: 'database-services', state: 'pending' },
      ],
    });
  });

  it('drops an older envelope', () => {
    const body = { apiVersion: 'deployment.margo.org/v1alpha1', kind: 'DeploymentStatusManifest', ...rc3() };
    expect(parseDeploymentStatus(body, { pathDeploymentId: ID })).toEqual(rc3());
  });

  it.each<[string, (b: ReturnType<typeof rc3>) => unknown, number, string, string]>([
    ['not an object', () => 'installed', 400, '', 'must be a JSON object'],
    ['a wrong type', (b) => ({ ...b, components: 'web' }), 400, 'components', 'must be array'],
    [
      'deploymentId of another deployment',
      (b) => ({ ...b, deploymentId: 'b0000000-0000-0000-0000-000000000000' }),
      422,
      'deploymentId',
      'differs from the deployment id in the path',
    ],
    [
      'an unknown state',
      (b) => ({ ...b, status: { state: 'running' } }),
      422,
      'status.state',
      'must be one of pending, installing, installed, failed, removing, removed',
    ],
    [
      'a missing component state',
      (b) => ({ ...b, components: [{ name: 'web' }] }),
      422,
      'components[0].state',
      'is required',
    ],
    [
      'a zero version',
      (b) => ({ ...b, adoptedManifestVersion: 0 }),
      422,
      'adoptedManifestVersion',
      'must be a positive integer',
    ],
    [
      'a fractional version',
      (b) => ({ ...b, adoptedManifestVersion: 1.5 }),
      422,
      'adoptedManifestVersion',
      'must be a positive integer',
    ],
    [
      'a duplicate component',
      (b) => ({ ...b, components: [b.components[0], b.components[0]] }),
      422,
      'components[1].name',
      'duplicate component "db"',
    ],
    ['a bad child device id', (b) => ({ ...b, deviceId: 'gw/ x' }), 422, 'deviceId', 'must match'],
    ['a wrong kind', (b) => ({ ...b, kind: 'Status' }), 422, 'kind', 'must be DeploymentStatusManifest'],
  ])('refuses %s', (_name, make, status, field, message) => {
    const err = thrown(() => parseDeploymentStatus(make(rc3()), { pathDeploymentId: ID }));
    expect(err.status).toBe(status);
    expect(err.code).toBe(status === 400 ? 'margo/invalid-request' : 'margo/semantic-error');
    expect(err.errors).toEqual([{ field, message: expect.stringContaining(message) as string }]);
  });
});

describe('overallState', () => {
  it.each<[DeploymentState[], DeploymentState | undefined]>([
    [[], undefined],
    [['installed', 'installed'], 'installed'],
    [['installed', 'pending'], 'pending'],
    [['pending', 'installing'], 'installing'],
    [['installing', 'removing'], 'removing'],
    [['removing', 'failed', 'installed'], 'failed'],
    [['removed', 'removed'], 'removed'],
    [['removed', 'installed'], 'removing'],
    [['removed', 'pending'], 'removing'],
    [['removed', 'failed'], 'failed'],
  ])('%j → %s', (states, want) => {
    expect(overallState(states)).toBe(want);
  });

  it('accepts component objects', () => {
    expect(overallState(rc3().components as { state: DeploymentState }[])).toBe('failed');
  });

  it('is the most severe state whatever the order (property)', () => {
    const rank: DeploymentState[] = ['installed', 'pending', 'installing', 'removing', 'failed'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...DEPLOYMENT_STATES), { minLength: 1, maxLength: 8 }),
        (states) => {
          const got = overallState(states)!;
          expect(overallState([...states].reverse())).toBe(got);
          if (states.every((s) => s === 'removed')) expect(got).toBe('removed');
          else {
            const eff = states.map((s) => (s === 'removed' ? 'removing' : s));
            expect(rank.indexOf(got)).toBe(Math.max(...eff.map((s) => rank.indexOf(s))));
          }
        },
      ),
    );
  });
});
