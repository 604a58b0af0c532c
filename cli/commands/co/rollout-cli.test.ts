import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type Host } from '../../../core/server/host.js';
import { silentLogger } from '../../../lib/log/index.js';
import { removeTempDirs, tempDir } from '../../../lib/base/testing.js';
import type { DeploymentView } from '../../../lib/contract/index.js';
import { WASM_APP } from '../../../test/fixtures/margo.js';
import { edgectl } from '../../../test/helpers/cli.js';
import { addEnrolledNodes } from '../../../test/helpers/core.js';
import { reportStatus, served as servedBy } from '../../../core/deploy/testing/rollout-core.js';

/**
 * Rollouts from the CLI against a real server: the strategy flags of `co deploy` and `co update
 * deployment`, progress in `co show deployment`, `co pause|promote|resume`, an automatic rollback, and a
 * refused deploy explained node by node. The nodes' reports are handed to the engine in-process, exactly
 * as the MMI backend does (the digest of the YAML each node was served).
 */

let host: Host;
const NODES = ['n1', 'n2', 'n3', 'n4'];

beforeAll(async () => {
  host = await startHost({
    home: tempDir('cli-rollout'),
    logger: silentLogger(),
    overrides: {
      server: { port: 0 },
      nats: { enabled: false },
      mmi: { enabled: true, port: 0 },
      registry: { port: 0, loopbackPort: 0 },
    },
  });
  const c = host.core.client();
  for (const v of ['1.0.0', '2.0.0'])
    await c.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP(v) } },
    });
  await c.sites.add({ id: 'plant' });
  await addEnrolledNodes(host.core, NODES, 'plant');
}, 60_000);
afterAll(async () => {
  await host?.stop();
  removeTempDirs();
});

const run = (...args: string[]) =>
  edgectl([...args, '--server', host.info.url, '--token', host.info.token], { timeoutMs: 30_000 });

/** Runs edgectl with `-o json` and parses a deployment view. */
async function view(...args: string[]): Promise<DeploymentView> {
  const r = await run(...args, '-o', 'json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as DeploymentView;
}

/** The nodes told to run `version` now (their manifest lists the deployment). */
function told(d: DeploymentView, version: string): string[] {
  return d.nodes
    .filter((n) => n.version === version && served(n.nodeName, d.id))
    .map((n) => n.nodeName)
    .sort();
}

function served(node: string, id: string) {
  return servedBy(host.core, node, id);
}

async function report(node: string, id: string, state: 'installed' | 'failed'): Promise<void> {
  reportStatus(host.core, node, id, state);
  await host.core.deploy.settle();
}

describe('rollouts from edgectl', () => {
  let id = '';

  it('deploys with a canary, shows its progress, and pauses, promotes and resumes it', async () => {
    let d = await view(
      'co',
      'deploy',
      '--app',
      'hello-wasm',
      '--version',
      '1.0.0',
      '--site',
      'plant',
      '--strategy',
      'canary',
      '--canary',
      '1',
      '--promote',
      'manual',
      '--batch-size',
      '2',
      '--max-unavailable',
      '2',
    );
    id = d.id;
    expect(d.rollout).toMatchObject({
      phase: 'canary',
      strategy: {
        kind: 'canary',
        canary: 1,
        promote: 'manual',
        then: { kind: 'batches', size: 2, maxUnavailable: 2 },
      },
      progress: { total: 4, installed: 0, inProgress: 1, notStarted: 3 },
    });
    expect(told(d, '1.0.0')).toEqual(['n1']);

    const shown = await run('co', 'show', 'deployment', id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(
      /^progress: +canary 1 \(promote by hand\), then batches of 2, max 2 unavailable · 0\/4 installed, 1 in progress, 3 not started$/m,
    );

    await report('n1', id, 'installed');
    const waiting = await run('co', 'show', 'deployment', id);
    expect(waiting.stdout).toMatch(/^rollout: +canary-hold · waiting: operator-promote$/m);
    expect(waiting.stdout).toMatch(/· 1\/4 installed, 3 not started$/m);

    d = await view('co', 'pause', id);
    expect(d.rollout?.paused).toBe(true);
    d = await view('co', 'promote', id);
    expect(d.rollout).toMatchObject({ phase: 'rolling', paused: true, waitingFor: 'paused' });
    expect(told(d, '1.0.0')).toEqual(['n1']); // paused: nobody else is told yet
    expect((await run('co', 'show', 'deployment', id)).stdout).toMatch(
      /^rollout: +rolling \(paused\) · waiting: paused$/m,
    );

    d = await view('co', 'resume', id);
    expect(told(d, '1.0.0')).toEqual(['n1', 'n2', 'n3']); // one batch of 2 after the canary
    expect(d.rollout?.progress).toMatchObject({ installed: 1, inProgress: 2, notStarted: 1 });
    for (const n of ['n2', 'n3']) await report(n, id, 'installed');
    await report('n4', id, 'installed');
    d = await view('co', 'show', 'deployment', id);
    expect(d.rollout).toMatchObject({ phase: 'complete', progress: { installed: 4 } });

    const again = await run('co', 'promote', id);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`edgectl: the rollout of deployment ${id} is already complete`);
  });

  it('updates in batches and rolls back automatically when a node fails', async () => {
    let d = await view(
      'co',
      'update',
      'deployment',
      id,
      '--version',
      '2.0.0',
      '--strategy',
      'batches',
      '--batch-size',
      '2',
      '--failure-threshold',
      '0',
      '--install-timeout',
      '3600',
    );
    expect(d.rollout).toMatchObject({
      phase: 'rolling',
      strategy: { kind: 'batches', size: 2 },
      installTimeoutSeconds: 3600,
      progress: { inProgress: 2, notStarted: 2 },
    });
    expect((await run('co', 'show', 'deployment', id)).stdout).toMatch(
      /^progress: +batches of 2, install timeout 3600s · 0\/4 installed, 2 in progress, 2 not started$/m,
    );
    const bad = await run(
      'co',
      'update',
      'deployment',
      id,
      '--version',
      '2.0.0',
      '--install-timeout',
      'soon',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('edgectl: --install-timeout: "soon" is not a positive whole number\n');
    const first = told(d, '2.0.0');
    expect(first).toHaveLength(2);
    await report(first[0]!, id, 'installed');
    await report(first[1]!, id, 'failed');
    d = await view('co', 'show', 'deployment', id);
    expect(d.rollout?.phase).toBe('rolling-back');
    expect(told(d, '2.0.0')).toEqual([]); // both nodes that took 2.0.0 are told 1.0.0 again
    const shown = await run('co', 'show', 'deployment', id);
    expect(shown.stdout).toMatch(
      /^rollout: +rolling-back · waiting: rollback-in-progress until \d{4}-\d\d-\d\dT[\d:.]+Z \(1 node\(s\) failed, more than the 0 the failure threshold allows\)$/m,
    );
    for (const n of first) await report(n, id, 'installed');
    d = await view('co', 'show', 'deployment', id);
    expect(d.rollout?.phase).toBe('rolled-back');
    expect(d.nodes.map((n) => n.version)).toEqual(['1.0.0', '1.0.0', '1.0.0', '1.0.0']);
  });

  it('retries a stopped rollout from where it stopped once the failure is gone (issue 12)', async () => {
    // The rollback put every node back on 1.0.0 and none reports the failure any more: it can be retried.
    let d = await view('co', 'show', 'deployment', id);
    expect(d.rollout).toMatchObject({ phase: 'rolled-back', retryable: true });
    const shown = (await run('co', 'show', 'deployment', id)).stdout;
    expect(shown).toMatch(
      new RegExp(
        `^rollout: +rolled-back · rolled back: 1 node\\(s\\) failed, more than the 0 the failure threshold allows; the failure is gone \\(0/4 installed\\): retry resumes the rollout \\(edgectl co retry ${id}\\)$`,
        'm',
      ),
    );
    expect(shown).not.toMatch(/rolled-back: rolled-back|failed: failed|complete: complete/);
    const refused = await run('co', 'pause', id);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `edgectl: the rollout of deployment ${id} is already rolled-back: once the failure is gone, edgectl co retry ${id} resumes it`,
    );

    d = await view('co', 'retry', id);
    expect(d.rollout).toMatchObject({ phase: 'rolling', retryable: false });
    const first = told(d, '2.0.0');
    expect(first).toHaveLength(2);
    // This time the first node fails: the rollout stops again and rolls back (retry waits for that).
    await report(first[0]!, id, 'failed');
    d = await view('co', 'show', 'deployment', id);
    expect(d.rollout?.phase).toBe('rolling-back');
    const early = await run('co', 'retry', id);
    expect(early.code).toBe(1);
    expect(early.stderr.trim()).toBe('edgectl: the rollout is rolling back; retry once it has rolled back');
    for (const n of first) if (served(n, id)) await report(n, id, 'installed');
    d = await view('co', 'show', 'deployment', id);
    expect(d.rollout?.phase).toBe('rolled-back');
    await report(first[0]!, id, 'installed');
    d = await view('co', 'retry', id);
    for (const n of told(d, '2.0.0')) await report(n, id, 'installed');
    d = await view('co', 'show', 'deployment', id);
    for (const n of told(d, '2.0.0')) await report(n, id, 'installed');
    d = await view('co', 'show', 'deployment', id);
    expect(d.rollout).toMatchObject({ phase: 'complete', progress: { installed: 4 } });
    expect((await run('co', 'show', 'deployment', id)).stdout).toMatch(
      /^rollout: +complete · every node took revision 2$/m,
    );
    const done = await run('co', 'retry', id);
    expect(done.code).toBe(1);
    expect(done.stderr.trim()).toBe(
      'edgectl: the rollout is complete, not stopped by a failure: nothing to retry',
    );
  });

  it('explains a refused deploy node by node, with one line on stderr and exit code 6', async () => {
    const before = (await host.core.client().deployments.list({})).deployments.length;
    const r = await run('co', 'deploy', '--app', 'hello-wasm', '--site', 'plant', '--selector', 'tier=gold');
    expect(r.code).toBe(6);
    expect(r.stderr).toBe('edgectl: not placeable: 4 nodes, none fits: 4 outside the selector\n');
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('not placeable: 4 nodes, none fits: 4 outside the selector');
    expect(lines[2]).toMatch(/^NODE\s+SITE\s+PLACED\s+SCORE\s+WHY$/);
    expect(lines.slice(3)).toEqual(
      NODES.map((n) =>
        expect.stringMatching(
          new RegExp(`^${n}\\s+plant\\s+no\\s+-\\s+selector tier=gold does not match \\(label absent\\)$`),
        ),
      ),
    );
    const json = await run(
      'co',
      'deploy',
      '--app',
      'hello-wasm',
      '--node',
      'n1',
      '--node',
      'nx',
      '-o',
      'json',
    );
    expect(json.code).toBe(5); // an unknown node is not found before placement
    const refused = await run(
      'co',
      'deploy',
      '--app',
      'hello-wasm',
      '--site',
      'plant',
      '--selector',
      'tier=gold',
      '-o',
      'json',
    );
    expect(refused.code).toBe(6);
    const out = JSON.parse(refused.stdout) as { placement: { placeable: boolean; candidates: unknown[] } };
    expect(out.placement.placeable).toBe(false);
    expect(out.placement.candidates).toHaveLength(4);
    expect((await host.core.client().deployments.list({})).deployments).toHaveLength(before);
  });

  it('refuses inconsistent rollout flags before calling the server', async () => {
    const r = await run('co', 'deploy', '--app', 'hello-wasm', '--site', 'plant', '--strategy', 'canary');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('edgectl: --strategy canary needs --canary <n>\n');
    const bad = await run('co', 'deploy', '--app', 'hello-wasm', '--site', 'plant', '--max-unavailable', 'x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--max-unavailable: "x" is neither a whole number nor a percentage/);
  });
});
