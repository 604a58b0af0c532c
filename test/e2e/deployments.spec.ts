import fs from 'node:fs';
import { test, expect, type Locator, type Page } from '@playwright/test';
import { startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient, type MmiTestClient } from '../helpers/mmi-client.js';
import { capabilitiesFor } from '../fixtures/margo.js';
import {
  contract,
  type Contract,
  type DeploymentView,
  createClient,
  createHttpTransport,
  type ClientOf,
} from '../../lib/contract/index.js';
import type { OutpostError } from '../../lib/errors/index.js';
import { createPaths } from '../../lib/base/index.js';
import { createKeyAndCsr } from '../../lib/x509/index.js';

// The Deployments page and the deployment wizard against a real server (embedded CO + LO, the Margo
// interface on a random port): the fleet goes in through the API and the Margo interface as real nodes
// would (enrollment with a one-time token, capabilities, status reports over mutual TLS), and what the
// page shows must be what the API says.

/** A WASM app with a configuration section: text with a length rule, an integer range, a switch. */
const GREETER = (version: string) => `id: greeter
metadata:
  name: Greeter
  version: ${version}
  catalog:
    application: { tagline: Says hello at the edge. }
    organization: [{ name: Outpost Tests }]
deploymentProfiles:
  - type: custom
    id: wasm
    description: The greeter as a WebAssembly module.
    components:
      - name: hello
        properties:
          repository: oci://127.0.0.1:5000/tests/greeter
          revision: ${version}
    deviceConstraints:
      capacityRequirements:
        memory: 64Mi
    x-outpost-extensions:
      runtime: wasm
parameters:
  greeting:
    value: hello
    targets: [{ pointer: GREETING, components: [hello] }]
  repeat:
    value: 1
    targets: [{ pointer: REPEAT, components: [hello] }]
  loud:
    value: false
    targets: [{ pointer: LOUD, components: [hello] }]
configuration:
  sections:
    - name: Greeting
      settings:
        - { parameter: greeting, name: Greeting, description: What to say, schema: text }
        - { parameter: repeat, name: Repeat, schema: times }
        - { parameter: loud, name: Loud, schema: flag }
  schema:
    - { name: text, dataType: string, maxLength: 20 }
    - { name: times, dataType: integer, minValue: 1, maxValue: 5 }
    - { name: flag, dataType: boolean }
`;

/**
 * Presence turns stale 5 s after a node was last heard from (its capabilities), so a node that goes
 * quiet becomes stale within the test; the live node below reports every 2 s. NATS is off (its fixed
 * ports could collide with another server here); the Margo interface listens on a random port.
 */
const SERVER_CONFIG = `nats:
  enabled: false
  checkInSeconds: 2
  staleAfterSeconds: 5
  offlineAfterSeconds: 3600
mmi:
  enabled: true
  port: 0
`;

interface Agent {
  name: string;
  mmi: MmiTestClient;
}

let server: ServerProcess;
let api: ClientOf<Contract>;
let live: Agent;
let quiet: Agent;
let heartbeat: ReturnType<typeof setInterval> | undefined;
let deploymentId = '';
// Made in beforeAll: Playwright also loads this file to list the tests, in a process that never cleans up.
let home: ReturnType<typeof tempHome>;

// Serial: the tests share one server and build on each other's deployments. Generous timeouts: the
// machine may be busy with other suites.
test.describe.configure({ mode: 'serial', timeout: 120_000 });

/** Enrolls a node with a one-time token (the site CA is pinned by fingerprint) and reports its capabilities. */
async function enroll(name: string, siteId: string): Promise<Agent> {
  const mmiUrl = server.info.mmiUrl!;
  const t = await api.identity.createEnrollToken({ node: name, siteId, ttlMinutes: 10 });
  const kc = await createKeyAndCsr({});
  const pinned = createMmiClient({ baseUrl: mmiUrl, serverCheck: { pinnedCaFingerprint: t.caFingerprint } });
  const r = await pinned.post('/api/v1/outpost/enroll', { token: t.token, csr: kc.csrPem, hostname: name });
  pinned.close();
  expect(r.status, r.text()).toBe(200);
  const body = r.json<{ certPem: string; anchorsPem: string[] }>();
  const mmi = createMmiClient({
    baseUrl: mmiUrl,
    certPem: body.certPem,
    keyPem: kc.keyPem,
    anchorsPem: body.anchorsPem,
  });
  const put = await mmi.put(`/api/v1/capabilities/${name}`, capabilitiesFor(name));
  expect(put.status).toBe(201);
  return { name, mmi };
}

/** The node reads its state manifest and reports a state for one deployment, as the agent does. */
async function report(agent: Agent, id: string, state: string): Promise<void> {
  const m = await agent.mmi.get('/api/v1/deployments');
  expect(m.status).toBe(200);
  const { manifestVersion } = m.json<{ manifestVersion: number }>();
  const r = await agent.mmi.post(`/api/v1/deployments/${id}/status`, {
    deploymentId: id,
    adoptedManifestVersion: manifestVersion,
    status: { state },
    components: [{ name: 'hello', state }],
  });
  expect([200, 201]).toContain(r.status);
}

async function open(page: Page, route: string): Promise<void> {
  await page.goto(`${server.info.url}/#token=${server.info.token}`);
  // The first load of the console can take a while on a busy machine.
  await expect.poll(() => page.url(), { timeout: 20_000 }).not.toContain('token=');
  await page.evaluate(`location.hash = ${JSON.stringify(route)}`);
  await expect(page.getByTestId('live-indicator')).toHaveText('live');
}

/** Opens a MUI select (by the test id of its display) and picks the option with `data-value`. */
async function choose(page: Page, select: Locator, value: string): Promise<void> {
  await select.click();
  await page.locator(`[role="option"][data-value='${value}']`).click();
  await expect(page.locator('[role="listbox"]')).toBeHidden();
}

const param = (page: Page, name: string) => page.locator(`[data-testid="param"][data-parameter="${name}"]`);
const nodeRow = (page: Page, name: string) => page.locator(`.MuiDataGrid-row[data-id="default.${name}"]`);

/**
 * Each node row shows the state the API reports now (green only when the API says installed, current
 * and fresh). Presence can change between the API call and the page's last refresh, so the comparison
 * is retried with a fresh answer until both agree.
 */
async function expectRowsMatchApi(page: Page, id: string): Promise<DeploymentView> {
  let d: DeploymentView | undefined;
  await expect(async () => {
    d = await api.deployments.get({ id });
    for (const n of d.nodes) {
      const row = nodeRow(page, n.nodeName);
      const quick = { timeout: 1000 };
      await expect(row.getByTestId('node-state')).toHaveAttribute('data-state', n.state, quick);
      await expect(row.getByTestId('node-state')).toHaveAttribute(
        'data-healthy',
        String(n.state === 'installed' && n.current && !n.stale),
        quick,
      );
      await expect(row.getByTestId('node-stale')).toHaveCount(n.stale ? 1 : 0, quick);
    }
  }).toPass({ timeout: 15_000 });
  return d!;
}

test.beforeAll(async () => {
  home = tempHome('outpost-e2e-deployments-');
  fs.writeFileSync(createPaths(home.home).configFile, SERVER_CONFIG);
  server = await startServer(home.home);
  expect(server.info.mmiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+/);
  api = createClient(contract, createHttpTransport({ baseUrl: server.info.url, token: server.info.token }));
  for (const v of ['1.0.0', '1.1.0'])
    await api.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: GREETER(v) } },
    });
  await api.sites.add({ id: 'plant-1', name: 'Plant 1' });
  live = await enroll('edge-1', 'plant-1');
  quiet = await enroll('edge-3', 'plant-1');
  // Registered, never enrolled: placement must say why not.
  await api.nodes.add({ name: 'edge-2', siteId: 'plant-1' });
  // edge-1 keeps reporting (as its agent would); edge-3 has gone quiet.
  heartbeat = setInterval(() => {
    live.mmi.put('/api/v1/capabilities/edge-1', capabilitiesFor('edge-1')).catch(() => undefined);
  }, 2000);
});

test.afterAll(async () => {
  if (heartbeat) clearInterval(heartbeat);
  live?.mmi.close();
  quiet?.mmi.close();
  await server?.stop();
  home?.cleanup();
});

test('the wizard: app, version, parameters checked as the server checks them, target, why-not preview, deploy', async ({
  page,
}) => {
  await open(page, '/deployments');
  await expect(page.getByRole('heading', { name: 'Deployments' })).toBeVisible();
  await page.getByTestId('new-deployment').click();
  const wizard = page.getByTestId('deployment-wizard');

  // (a) application, from a searchable list with icons.
  await page.getByTestId('wizard-app-search').fill('hello at the edge');
  const app = page.locator('[data-testid="wizard-app"][data-app-id="greeter"]');
  await expect(app).toContainText('Greeter');
  await expect(app.getByTestId('wizard-app-icon')).toBeVisible();
  await expect(page.getByTestId('wizard-next')).toBeDisabled();
  await app.click();
  await page.getByTestId('wizard-next').click();

  // (b) version (newest first, preselected) and profile.
  await expect(page.getByTestId('wizard-version')).toHaveText(/1\.1\.0/);
  await choose(page, page.getByTestId('wizard-version'), '1.0.0');
  const profile = page.locator('[data-testid="wizard-profile"][data-profile-id="wasm"]');
  await expect(profile).toHaveAttribute('data-selected', 'true');
  await expect(profile.getByTestId('wizard-profile-type')).toHaveText('custom');
  await page.getByTestId('wizard-next').click();

  // (c) parameters: one input per setting, by data type; defaults from the description.
  await expect(page.getByTestId('param-section')).toHaveAttribute('data-name', 'Greeting');
  await expect(param(page, 'greeting')).toHaveAttribute('data-kind', 'text');
  await expect(param(page, 'repeat')).toHaveAttribute('data-kind', 'number');
  await expect(param(page, 'loud')).toHaveAttribute('data-kind', 'switch');
  const greeting = param(page, 'greeting').getByTestId('param-input');
  await expect(greeting).toHaveValue('hello');

  // An invalid value: the inline error is the server's own message for it, and Next stays disabled.
  const tooLong = 'a greeting far too long for its rule';
  const refused = await api.deployments
    .create({
      appId: 'greeter',
      version: '1.0.0',
      target: { siteId: 'plant-1' },
      parameters: { greeting: tooLong },
    })
    .then(
      () => null,
      (e: unknown) => e as OutpostError,
    );
  expect(refused?.code).toBe('invalid-input');
  await greeting.fill(tooLong);
  await expect(param(page, 'greeting').getByTestId('param-error')).toHaveText(refused!.errors![0]!.message);
  await expect(param(page, 'greeting')).toHaveAttribute('data-invalid', 'true');
  await expect(page.getByTestId('wizard-next')).toBeDisabled();
  const repeat = param(page, 'repeat').getByTestId('param-input');
  await repeat.fill('9');
  await expect(param(page, 'repeat').getByTestId('param-error')).toHaveText('must be at most 5');
  await page.screenshot({ path: 'test-results/deployments-wizard-parameters-invalid.png', fullPage: true });

  await greeting.fill('hi there');
  await repeat.fill('3');
  await param(page, 'loud').getByTestId('param-input').check();
  await expect(page.locator('[data-testid="param"][data-invalid="true"]')).toHaveCount(0);
  await page.getByTestId('wizard-next').click();

  // (d) target: a site; a label no node has makes it not placeable (and says why).
  await choose(page, page.getByTestId('target-site'), 'plant-1');
  await page.getByTestId('target-selector').fill('tier=gold');
  await page.getByTestId('wizard-next').click();
  await expect(page.getByTestId('placement')).toHaveAttribute('data-placeable', 'false');
  await expect(page.getByTestId('wizard-next')).toBeDisabled();
  await page.getByTestId('wizard-back').click();
  await page.getByTestId('target-selector').fill('');
  await page.getByTestId('wizard-next').click();

  // (e) placement preview: the engine's answer for every candidate, the same as the API's.
  const target = { siteId: 'plant-1', replicas: 'all' as const };
  const placed = await api.deployments.place({
    appId: 'greeter',
    version: '1.0.0',
    profileId: 'wasm',
    target,
  });
  await expect(page.getByTestId('placement')).toHaveAttribute('data-placeable', 'true');
  await expect(page.getByTestId('placement-summary')).toHaveText(placed.placement.summary);
  expect(placed.placement.candidates.map((c) => c.name).sort()).toEqual(['edge-1', 'edge-2', 'edge-3']);
  for (const c of placed.placement.candidates) {
    const row = page.locator(`.MuiDataGrid-row[data-id="${c.uid}"]`);
    await expect(row.getByTestId('candidate-placed')).toHaveAttribute('data-value', String(c.placed));
    await expect(row.getByTestId('candidate-reason')).toHaveText(
      c.reasons.map((r) => `${r.code} ${r.message}`),
    );
  }
  const edge2 = placed.placement.candidates.find((c) => c.name === 'edge-2')!;
  expect(edge2.placed).toBe(false);
  expect(edge2.reasons.map((r) => r.code)).toContain('not-enrolled');
  await expect(page.locator('[data-testid="placement-rejected"][data-code="not-enrolled"]')).toBeVisible();
  await page.screenshot({ path: 'test-results/deployments-wizard-preview.png', fullPage: true });
  await page.getByTestId('wizard-next').click();

  // (f) confirm: the typed values go to the server, and the new deployment opens.
  await expect(page.getByTestId('confirm-parameters')).toContainText('greeting=hi there');
  await expect(page.getByTestId('confirm-placement')).toHaveText(placed.placement.summary);
  await page.getByTestId('wizard-deploy').click();
  await expect(wizard).toBeHidden();
  const detail = page.getByTestId('deployment-detail');
  await expect(detail).toBeVisible();
  deploymentId = (await detail.getAttribute('data-id'))!;
  await expect.poll(() => page.url()).toContain(`#/deployments/${deploymentId}`);

  const d = await api.deployments.get({ id: deploymentId });
  expect(d.parameters).toEqual({ greeting: 'hi there', repeat: 3, loud: true });
  expect(d.nodes.map((n) => [n.nodeName, n.state])).toEqual([
    ['edge-1', 'pending'],
    ['edge-3', 'pending'],
  ]);
  await expect(nodeRow(page, 'edge-1').getByTestId('node-state')).toHaveAttribute('data-state', 'pending');
  await expect(nodeRow(page, 'edge-1').getByTestId('node-reported')).toHaveText('no report yet');
  await expect(page.getByTestId('deployment-version')).toHaveAttribute('data-value', '1.0.0');
  await expect(page.locator('[data-testid="deployment-parameter"][data-name="repeat"]')).toHaveAttribute(
    'data-value',
    '3',
  );
  await expectRowsMatchApi(page, deploymentId);
  await page.screenshot({ path: 'test-results/deployments-detail-pending.png', fullPage: true });
});

test('status reports turn a node installed live, with a ticking age; a quiet node is stale, never green', async ({
  page,
}) => {
  await open(page, `/deployments/${deploymentId}`);
  await expect(nodeRow(page, 'edge-1').getByTestId('node-state')).toHaveAttribute('data-state', 'pending');

  await report(live, deploymentId, 'installed');
  await report(quiet, deploymentId, 'installed');
  const quietHeardAt = Date.now();
  // No reload: the page follows the server's events.
  const chip = nodeRow(page, 'edge-1').getByTestId('node-state');
  await expect(chip).toHaveAttribute('data-state', 'installed');
  await expect(chip).toHaveAttribute('data-healthy', 'true');
  await expect(nodeRow(page, 'edge-1').getByTestId('node-stale')).toHaveCount(0);

  // edge-3 reported installed, then went quiet: once the stale threshold has passed since its last
  // request (last-seen times are written within 5 s), the server calls it stale.
  await expect
    .poll(
      async () =>
        Date.now() - quietHeardAt > 6000 &&
        (await api.deployments.get({ id: deploymentId })).nodes.find((n) => n.nodeName === 'edge-3')?.stale,
      { timeout: 20_000 },
    )
    .toBe(true);
  const quietRow = nodeRow(page, 'edge-3');
  await expect(quietRow.getByTestId('node-stale')).toBeVisible({ timeout: 15_000 });
  await expect(quietRow.getByTestId('node-state')).toHaveAttribute('data-state', 'installed');
  await expect(quietRow.getByTestId('node-state')).toHaveAttribute('data-healthy', 'false');
  await expect(quietRow.getByTestId('node-presence')).toHaveAttribute('data-presence', 'stale');

  // The age of each report ticks on its own.
  const age = nodeRow(page, 'edge-1').getByTestId('node-reported');
  await expect(age).toHaveText(/^\d+s ago$/);
  const first = await age.textContent();
  await expect.poll(() => age.textContent(), { timeout: 15_000 }).not.toBe(first);

  const d = await expectRowsMatchApi(page, deploymentId);
  expect(d.counts).toMatchObject({ installed: 2, stale: 1 });
  await expect(page.locator('[data-testid="count"][data-state="installed"]')).toHaveAttribute(
    'data-value',
    '2',
  );
  await expect(page.locator('[data-testid="count"][data-state="stale"]')).toHaveAttribute('data-value', '1');

  await page.screenshot({ path: 'test-results/deployments-detail-installed-and-stale.png', fullPage: true });

  // The component states of a node.
  await nodeRow(page, 'edge-1').getByTestId('node-components').click();
  await expect(page.locator('[data-testid="component-state"][data-name="hello"]')).toHaveAttribute(
    'data-state',
    'installed',
  );
  await page.keyboard.press('Escape');

  // The Logs view asks the node's agent over the site bus; these nodes are Margo clients with no agent on
  // the bus, and the view says so instead of showing nothing (issue 12, ADR 0016).
  await nodeRow(page, 'edge-1').getByTestId('node-logs').click();
  const logs = page.getByTestId('workload-logs');
  await expect(logs.getByTestId('error')).toHaveAttribute(
    'data-code',
    /^(node\/unreachable|nats-unavailable)$/,
    {
      timeout: 30_000,
    },
  );
  await logs.getByRole('button', { name: 'Close' }).click();
  await expect(logs).toHaveCount(0);

  // The list shows the same counts.
  await page.getByTestId('back-to-deployments').click();
  const row = page.locator(`.MuiDataGrid-row[data-id="${deploymentId}"]`);
  await expect(row.getByTestId('count-installed')).toHaveAttribute('data-value', '2');
  await expect(row.getByTestId('count-stale')).toHaveAttribute('data-value', '1');
  await expect(row.getByTestId('count-failed')).toHaveAttribute('data-value', '0');
  await page.screenshot({ path: 'test-results/deployments-list.png', fullPage: true });
  await row.click();
  await expect(page.getByTestId('deployment-detail')).toHaveAttribute('data-id', deploymentId);
});

test('update from the console: a new version and a parameter; pause and resume the rollout', async ({
  page,
}) => {
  await open(page, `/deployments/${deploymentId}`);
  await page.getByTestId('update-deployment').click();
  const dialog = page.getByTestId('update-dialog');
  // Prefilled with what the deployment runs with.
  await expect(param(page, 'greeting').getByTestId('param-input')).toHaveValue('hi there');
  await expect(param(page, 'repeat').getByTestId('param-input')).toHaveValue('3');
  await choose(page, dialog.getByTestId('update-version'), '1.1.0');
  await expect(param(page, 'greeting').getByTestId('param-input')).toHaveValue('hi there');
  await param(page, 'repeat').getByTestId('param-input').fill('0');
  await expect(param(page, 'repeat').getByTestId('param-error')).toHaveText('must be at least 1');
  await expect(dialog.getByTestId('update-submit')).toBeDisabled();
  await param(page, 'repeat').getByTestId('param-input').fill('2');
  await page.screenshot({ path: 'test-results/deployments-update-dialog.png' });
  await dialog.getByTestId('update-submit').click();
  await expect(dialog).toBeHidden();

  await expect(page.getByTestId('deployment-version')).toHaveAttribute('data-value', '1.1.0');
  const d = await api.deployments.get({ id: deploymentId });
  expect(d.version).toBe('1.1.0');
  expect(d.parameters).toEqual({ greeting: 'hi there', repeat: 2, loud: true });
  // Its last report is about the previous revision: shown as installing, not green.
  const chip = nodeRow(page, 'edge-1').getByTestId('node-state');
  await expect(chip).toHaveAttribute('data-shown', 'installing');
  await expect(chip).toHaveAttribute('data-healthy', 'false');

  // The rollout waits for the nodes; pause and resume it from the panel (promote is for canaries).
  const panel = page.getByTestId('rollout-panel');
  await expect(panel).toHaveAttribute('data-phase', 'rolling');
  await expect(panel.getByTestId('rollout-promote')).toBeDisabled();
  await panel.getByTestId('rollout-pause').click();
  await expect(panel).toHaveAttribute('data-paused', 'true');
  expect((await api.deployments.get({ id: deploymentId })).rollout?.paused).toBe(true);
  await expect(panel.getByTestId('rollout-pause')).toBeDisabled();
  await panel.getByTestId('rollout-resume').click();
  await expect(panel).toHaveAttribute('data-paused', 'false');

  await report(live, deploymentId, 'installed');
  await expect(chip).toHaveAttribute('data-healthy', 'true');
  await expect(panel.getByTestId('rollout-installed')).toHaveAttribute('data-value', '1');
  await expect(panel.getByTestId('rollout-total')).toHaveText('of 2');
  await expectRowsMatchApi(page, deploymentId);
  await page.screenshot({ path: 'test-results/deployments-after-update.png', fullPage: true });
});

test('a canary for explicit nodes from the wizard: a refusal on its step, a live preview, then Promote', async ({
  page,
}) => {
  await open(page, '/deployments/new');
  await page.locator('[data-testid="wizard-app"][data-app-id="greeter"]').click();
  await page.getByTestId('wizard-next').click();
  await expect(page.getByTestId('wizard-version')).toHaveText(/1\.1\.0/);
  await page.getByTestId('wizard-next').click();
  await expect(param(page, 'greeting').getByTestId('param-input')).toHaveValue('hello');
  await page.getByTestId('wizard-next').click();
  // The node picker asks the server for a page of matches (no capability documents), not the fleet.
  const asked: Record<string, unknown>[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/nodes.list')) asked.push(r.postDataJSON() as Record<string, unknown>);
  });
  await page.getByTestId('target-mode-nodes').click();
  const searched = page.waitForRequest(
    (r) => r.url().endsWith('/nodes.list') && (r.postDataJSON() as { search?: string }).search === 'edge-1',
  );
  await page.getByTestId('target-nodes').fill('edge-1');
  await searched;
  await page.locator('[data-testid="target-node-option"][data-value="edge-1"]').click();
  expect(asked.length).toBeGreaterThan(1);
  for (const q of asked) expect(q).toMatchObject({ capabilities: false, limit: 100 });
  await page.getByTestId('wizard-next').click();
  const placed = await api.deployments.place({ appId: 'greeter', target: { nodes: ['edge-1'] } });
  await expect(page.getByTestId('placement-summary')).toHaveText(placed.placement.summary);
  await page.getByTestId('wizard-next').click();
  await choose(page, page.getByTestId('rollout-kind'), 'canary');

  // A bad name is caught as it is typed, in words (what is allowed, what it has, a name that would do),
  // and Deploy waits for a good one (the server's refusals go to their step: wizard/steps.test.ts).
  await page.getByTestId('deployment-name-input').fill('Not A Name');
  await expect(page.getByTestId('deployment-name-help')).toHaveText(
    'Use only lowercase letters, digits and dashes, starting and ending with a letter or digit (this has spaces, capital letters), for example "not-a-name".',
  );
  await expect(page.getByTestId('wizard-deploy')).toBeDisabled();
  await expect(page.getByTestId('deployment-wizard')).toHaveAttribute('data-step', '5');
  await page.getByTestId('deployment-name-input').fill('greeter-canary');
  await expect(page.getByTestId('wizard-deploy')).toBeEnabled();

  // A node cordoned after the preview: the preview follows the fleet live, Deploy is no longer offered,
  // and the preview says why.
  await api.nodes.cordon({ name: 'edge-1' });
  await expect(page.getByTestId('wizard-deploy')).toBeDisabled();
  await page.getByTestId('wizard-step-4').click();
  await expect(page.getByTestId('placement')).toHaveAttribute('data-placeable', 'false');
  await expect(page.locator('[data-testid="candidate-reason"][data-code="cordoned"]')).toBeVisible();
  await page.screenshot({ path: 'test-results/deployments-wizard-cordoned.png', fullPage: true });
  await api.nodes.uncordon({ name: 'edge-1' });
  await expect(page.getByTestId('placement')).toHaveAttribute('data-placeable', 'true');
  await page.getByTestId('wizard-next').click();
  await expect(page.getByTestId('deployment-name-input')).toHaveValue('greeter-canary');
  await page.getByTestId('wizard-deploy').click();

  const detail = page.getByTestId('deployment-detail');
  await expect(detail).toBeVisible();
  const id = (await detail.getAttribute('data-id'))!;
  await expect(page.getByTestId('deployment-name')).toHaveText('greeter-canary');
  const panel = page.getByTestId('rollout-panel');
  await expect(panel).toHaveAttribute('data-phase', 'canary');
  expect((await api.deployments.get({ id })).rollout?.strategy).toMatchObject({ kind: 'canary', canary: 1 });

  await report(live, id, 'installed');
  await expect(panel).toHaveAttribute('data-phase', 'canary-hold');
  const view = await api.deployments.get({ id });
  await expect(panel.getByTestId('rollout-message')).toHaveText(view.rollout!.message);
  await expect(panel.getByTestId('rollout-waiting')).toHaveAttribute('data-value', view.rollout!.waitingFor!);
  await expect(panel.getByTestId('rollout-promote')).toBeEnabled();
  await page.screenshot({ path: 'test-results/deployments-canary-hold.png', fullPage: true });
  await panel.getByTestId('rollout-promote').click();
  await expect(panel).toHaveAttribute('data-phase', 'complete');
  expect((await api.deployments.get({ id })).rollout?.phase).toBe('complete');
  await expect(panel.getByTestId('rollout-pause')).toBeDisabled();
  await expect(panel.getByTestId('rollout-promote')).toBeDisabled();
});

test('a failed canary is retried from the console once its node recovers (issue 12)', async ({ page }) => {
  const d = await api.deployments.create({
    appId: 'greeter',
    name: 'greeter-retry',
    target: { nodes: ['edge-1'] },
    rollout: { strategy: { kind: 'canary', canary: 1, promote: 'manual', then: { kind: 'all-at-once' } } },
  });
  await report(live, d.id, 'failed');
  await open(page, `/deployments/${d.id}`);
  const panel = page.getByTestId('rollout-panel');
  await expect(panel).toHaveAttribute('data-phase', 'failed');
  // Pause, Resume and Promote do not apply to a stopped rollout; Retry waits for the failure to go.
  await expect(panel.getByTestId('rollout-retry')).toBeDisabled();
  await expect(panel.getByTestId('rollout-promote')).toBeDisabled();
  // The node recovers by itself: the summary follows it, and Retry is offered.
  await report(live, d.id, 'installed');
  await expect(panel.getByTestId('rollout-retry')).toBeEnabled();
  const view = await api.deployments.get({ id: d.id });
  expect(view.rollout?.message).toMatch(/the failure is gone \(1\/1 installed\)/);
  await expect(panel.getByTestId('rollout-message')).toHaveText(view.rollout!.message);
  await page.screenshot({ path: 'test-results/deployments-retry.png', fullPage: true });
  await panel.getByTestId('rollout-retry').click();
  await expect(panel).toHaveAttribute('data-phase', 'canary-hold');
  expect((await api.deployments.get({ id: d.id })).rollout?.phase).toBe('canary-hold');
  await api.deployments.remove({ id: d.id });
});

test('remove from the console: removing until every node reports removed', async ({ page }) => {
  await open(page, `/deployments/${deploymentId}`);
  await page.getByTestId('remove-deployment').click();
  await page.getByTestId('confirm-dialog').getByTestId('confirm').click();
  const detail = page.getByTestId('deployment-detail');
  await expect(detail).toHaveAttribute('data-state', 'removing');
  await expect(page.getByTestId('update-deployment')).toBeDisabled();

  for (const agent of [live, quiet]) {
    await report(agent, deploymentId, 'removing');
    await report(agent, deploymentId, 'removed');
  }
  await expect(detail).toHaveAttribute('data-state', 'removed');
  const d = await expectRowsMatchApi(page, deploymentId);
  expect(d.state).toBe('removed');
  await page.screenshot({ path: 'test-results/deployments-removed.png', fullPage: true });

  await page.getByTestId('back-to-deployments').click();
  await expect(page.locator(`.MuiDataGrid-row[data-id="${deploymentId}"]`)).toHaveCount(0);
  expect((await api.deployments.list({})).deployments.map((x) => x.id)).not.toContain(deploymentId);
});
