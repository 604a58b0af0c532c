import fs from 'node:fs';
import { test, expect, type Locator, type Page } from '@playwright/test';
import { startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient, type MmiTestClient } from '../helpers/mmi-client.js';
import { seriousAxeViolations, type AxeViolation } from '../helpers/axe.js';
import { capabilitiesFor } from '../fixtures/margo.js';
import {
  contract,
  createClient,
  createHttpTransport,
  type ClientOf,
  type Contract,
} from '../../lib/contract/index.js';
import { createPaths } from '../../lib/base/index.js';
import { createKeyAndCsr } from '../../lib/x509/index.js';

/**
 * The rest of issue 16 in Debian's Chromium at 1024x700, against a real server with a real enrolled node
 * (the Margo interface over mutual TLS): the audit log's source, diff and live updates; air-gapped sites on
 * the Dashboard; the newer pages' actions as a viewer and an operator see them; the node table's full error,
 * the deployment name's rule, a new file in Add app; axe on every dialog and wizard step in both themes;
 * a keyboard-only enrollment. Screenshots go to test-results/console-more/.
 */
test.describe.configure({ mode: 'serial', timeout: 120_000 });
test.use({ viewport: { width: 1024, height: 700 } });

const SHOTS = 'test-results/console-more';
const LONG_ERROR =
  'pulling oci://registry.plant-1.example/tests/greeter:1.0.0 failed: the registry answered 401 Unauthorized for the manifest; the node has no credentials for this registry (configure them in the agent or the site registry mirror) and retried 5 times over 10 minutes';

const APP = `id: greeter
metadata:
  name: Greeter
  version: 1.0.0
  catalog:
    application: { tagline: Says hello at the edge. }
    organization: [{ name: Outpost Tests }]
deploymentProfiles:
  - type: custom
    id: wasm
    components:
      - name: hello
        properties:
          repository: oci://127.0.0.1:5000/tests/greeter
          revision: 1.0.0
    deviceConstraints:
      capacityRequirements:
        memory: 64Mi
    x-outpost-extensions:
      runtime: wasm
`;

let server: ServerProcess;
let home: ReturnType<typeof tempHome>;
let api: ClientOf<Contract>;
let node: MmiTestClient;
let deploymentId = '';

async function enroll(name: string, siteId: string): Promise<MmiTestClient> {
  const t = await api.identity.createEnrollToken({ node: name, siteId, ttlMinutes: 10 });
  const kc = await createKeyAndCsr({});
  const pinned = createMmiClient({
    baseUrl: server.info.mmiUrl!,
    serverCheck: { pinnedCaFingerprint: t.caFingerprint },
  });
  const r = await pinned.post('/api/v1/outpost/enroll', { token: t.token, csr: kc.csrPem, hostname: name });
  pinned.close();
  expect(r.status, r.text()).toBe(200);
  const body = r.json<{ certPem: string; anchorsPem: string[] }>();
  const mmi = createMmiClient({
    baseUrl: server.info.mmiUrl!,
    certPem: body.certPem,
    keyPem: kc.keyPem,
    anchorsPem: body.anchorsPem,
  });
  expect((await mmi.put(`/api/v1/capabilities/${name}`, capabilitiesFor(name))).status).toBe(201);
  return mmi;
}

test.beforeAll(async () => {
  test.setTimeout(120_000);
  home = tempHome('outpost-e2e-more-');
  fs.writeFileSync(
    createPaths(home.home).configFile,
    'nats:\n  enabled: false\n  staleAfterSeconds: 600\n  offlineAfterSeconds: 3600\nmmi:\n  enabled: true\n  port: 0\nregistry:\n  enabled: false\ndiscovery:\n  enabled: false\n',
  );
  server = await startServer(home.home);
  api = createClient(contract, createHttpTransport({ baseUrl: server.info.url, token: server.info.token }));
  await api.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: APP } } });
  await api.sites.add({ id: 'plant-1', name: 'Plant 1' });
  await api.sites.add({ id: 'mine', name: 'Mine', airGapped: true });
  node = await enroll('edge-1', 'plant-1');
  await api.nodes.add({ name: 'edge-2', siteId: 'plant-1' });
  // A canary rollout whose node fails with a long error: the rollout stops (Retry), the table shows the error.
  const d = await api.deployments.create({
    appId: 'greeter',
    name: 'greeter-canary',
    target: { nodes: ['edge-1'] },
    rollout: { strategy: { kind: 'canary', canary: 1, promote: 'manual', then: { kind: 'all-at-once' } } },
  });
  deploymentId = d.id;
  const m = await node.get('/api/v1/deployments');
  const { manifestVersion } = m.json<{ manifestVersion: number }>();
  const r = await node.post(`/api/v1/deployments/${d.id}/status`, {
    deploymentId: d.id,
    adoptedManifestVersion: manifestVersion,
    status: { state: 'failed', error: { code: 'PULL', message: LONG_ERROR } },
    components: [{ name: 'hello', state: 'failed', error: { message: LONG_ERROR } }],
  });
  expect([200, 201]).toContain(r.status);
});

test.afterAll(async () => {
  node?.close();
  await server?.stop();
  home?.cleanup();
});

async function open(page: Page, route = '/', token = server.info.token): Promise<void> {
  await page.goto(`${server.info.url}/#token=${token}`);
  await expect(page.getByTestId('live-indicator')).toHaveText('live', { timeout: 30_000 });
  if (route !== '/') await page.evaluate(`location.hash = ${JSON.stringify(route)}`);
}

async function tokenWith(role: 'viewer' | 'operator'): Promise<string> {
  return (await api.tenants.createToken({ name: `e2e ${role}`, roles: [role] })).token;
}

/** Opens a MUI select (by the test id of its display) and picks the option with `data-value`. */
async function choose(page: Page, select: Locator, value: string): Promise<void> {
  await select.click();
  await page.locator(`[role="option"][data-value='${value}']`).click();
  await expect(page.locator('[role="listbox"]')).toBeHidden();
}

/** Presses Tab (only the keyboard) until `target` has the focus, at most `max` times. */
async function tabTo(page: Page, target: Locator, max: number): Promise<void> {
  const focused = () =>
    target.evaluate(
      (e) => e === (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
    );
  for (let i = 0; i < max && !(await focused()); i++) await page.keyboard.press('Tab');
}

/** A disabled action names the role it needs: its attributes, and the server's reason on hover. */
async function expectDenied(page: Page, button: Locator, needs: string, role: string): Promise<void> {
  await expect(button).toBeDisabled();
  await expect(button).toHaveAttribute('data-denied', 'true');
  await expect(button).toHaveAttribute('data-needs', needs);
  await button.locator('..').hover();
  await expect(page.getByRole('tooltip')).toContainText(`needs the ${needs} role (you have ${role})`);
  await page.mouse.move(0, 0);
  await expect(page.getByRole('tooltip')).toHaveCount(0);
}

test('the audit log shows the source, what changed since the previous call, and updates live', async ({
  page,
}) => {
  await open(page, '/audit');
  await expect(page.getByRole('heading', { level: 1, name: 'Audit' })).toBeVisible();
  const total = page.getByTestId('audit-total');
  await expect(total).toHaveText(/^\d+ entries$/);
  const before = Number((await total.textContent())!.split(' ')[0]);

  // Two label changes by the CLI, made while the page is open: they appear without a reload.
  const cli = createClient(
    contract,
    createHttpTransport({ baseUrl: server.info.url, token: server.info.token, client: 'cli' }),
  );
  await cli.nodes.label({ name: 'edge-2', set: { zone: 'z1', line: 'l1' } });
  await cli.nodes.label({ name: 'edge-2', set: { zone: 'z2', line: 'l1', rack: 'r7' } });
  await expect(total).toHaveText(`${before + 2} entries`);

  await choose(page, page.getByTestId('audit-source'), 'cli');
  await expect(total).toHaveText('2 entries');
  const rows = page.locator('.MuiDataGrid-row');
  await expect(rows.first()).toContainText('CLI');
  await rows.first().click();
  const changes = page.getByTestId('audit-change');
  await expect(changes).toHaveCount(2);
  await expect(changes.nth(0)).toHaveAttribute('data-path', 'set.rack');
  await expect(changes.nth(0)).toHaveAttribute('data-kind', 'added');
  await expect(changes.nth(1)).toHaveAttribute('data-path', 'set.zone');
  await expect(changes.nth(1)).toContainText('z1');
  await expect(changes.nth(1)).toContainText('z2');
  await page.screenshot({ path: `${SHOTS}/audit-diff.png`, fullPage: true });
  // The older one is the first of its kind: its whole input is shown.
  await rows.nth(1).click();
  await expect(page.getByTestId('audit-diff-first')).toBeVisible();

  // The agent's enrollment, audited as the agent.
  await choose(page, page.getByTestId('audit-source'), 'agent');
  await expect(rows.first()).toContainText('identity.enroll');
  await expect(rows.first()).toContainText('node/edge-1');
});

test('the Dashboard lists an air-gapped site with its data age, and one click opens the Air gap page', async ({
  page,
}) => {
  await open(page);
  const item = page.locator('[data-testid="attention-item"][data-kind="site-air-gapped"]');
  await expect(item.getByTestId('attention-title')).toHaveText(
    'Air-gapped site mine: no status bundle imported yet',
    { timeout: 30_000 },
  );
  await page.screenshot({ path: `${SHOTS}/dashboard-airgapped.png`, fullPage: true });
  await item.getByTestId('attention-action').click();
  await expect(page.getByRole('heading', { level: 1, name: 'Air gap' })).toBeVisible();
  await expect.poll(() => new URL(page.url()).hash).toBe('#/airgap?site=mine');
  // The site's row is there and marked.
  await expect(page.locator('[data-testid="stream-row"][data-site-id="mine"]')).toHaveAttribute(
    'aria-current',
    'true',
  );
});

test('a viewer sees the newer pages without the actions it may not take, and the role they need', async ({
  page,
}) => {
  await open(page, '/nodes/edge-1', await tokenWith('viewer'));
  await expect(page.getByRole('heading', { level: 1, name: 'Node edge-1' })).toBeVisible();
  for (const id of ['node-cordon', 'node-labels', 'node-model', 'node-revoke'])
    await expect(page.getByTestId(id)).toHaveAttribute('data-needs', 'operator');
  await expectDenied(page, page.getByTestId('node-revoke'), 'operator', 'viewer');
  await expect(page.getByTestId('role-note')).toContainText('changing this node needs operator');
  await page.screenshot({ path: `${SHOTS}/viewer-node.png`, fullPage: true });

  // Nodes grid: no row selection (bulk actions) and no enrollment, with the reason.
  await page.evaluate(`location.hash = '/sites'`);
  await expect(page.locator('.MuiDataGrid-row').first()).toBeVisible();
  await expect(page.locator('.MuiDataGrid-row').first().getByRole('checkbox')).toHaveCount(0);
  await expect(page.getByTestId('enroll-nodes')).toHaveCount(0);
  await expect(page.getByTestId('needs-role-identity.createEnrollTokens')).toContainText(
    'Enroll nodes: needs operator',
  );
  await expect(page.getByTestId('role-note')).toContainText('changing nodes needs operator');

  // Air gap: keys and trust are an administrator's, export and import an operator's; nothing refused.
  await page.evaluate(`location.hash = '/airgap'`);
  await expect(page.getByTestId('keys-card').getByTestId('role-note')).toContainText(
    'bundle keys and trust needs admin',
  );
  await expect(page.getByTestId('signing-key')).toHaveText('The signing key is shown to administrators.');
  await expectDenied(page, page.getByTestId('rotate-key'), 'admin', 'viewer');
  await expectDenied(page, page.getByTestId('export-button').first(), 'operator', 'viewer');
  await expect(page.getByTestId('verify-button')).toHaveAttribute('data-needs', 'operator');
  await expect(page.getByTestId('drives-card').getByTestId('role-note')).toContainText('needs operator');
  await expect(page.getByTestId('error')).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/viewer-airgap.png`, fullPage: true });

  // A deployment: the Logs view and Retry need an operator.
  await page.evaluate(`location.hash = ${JSON.stringify(`/deployments/${deploymentId}`)}`);
  await expectDenied(page, page.getByTestId('node-logs').first(), 'operator', 'viewer');
  const retry = page.getByTestId('rollout-panel').getByTestId('rollout-retry');
  await expect(retry).toBeDisabled();
  await retry.locator('..').hover();
  await expect(page.getByRole('tooltip')).toHaveText(
    'deployments.retry needs the operator role (you have viewer)',
  );
  await page.screenshot({ path: `${SHOTS}/viewer-deployment.png`, fullPage: true });
});

test('an operator takes the node, bulk, enrollment, export and logs actions, not the keys', async ({
  page,
}) => {
  await open(page, '/nodes/edge-1', await tokenWith('operator'));
  await expect(page.getByRole('heading', { level: 1, name: 'Node edge-1' })).toBeVisible();
  for (const id of ['node-cordon', 'node-labels', 'node-model', 'node-revoke']) {
    await expect(page.getByTestId(id)).toBeEnabled();
    await expect(page.getByTestId(id)).not.toHaveAttribute('data-denied', 'true');
  }
  await page.evaluate(`location.hash = '/sites?site=plant-1'`);
  const row = page.locator('.MuiDataGrid-row').first();
  await row.getByRole('checkbox').check();
  await expect(page.getByTestId('bulk-cordon')).toBeEnabled();
  await row.getByRole('checkbox').uncheck();
  await expect(page.getByTestId('enroll-nodes')).toBeEnabled();

  await page.evaluate(`location.hash = '/airgap'`);
  await expect(page.getByTestId('export-button').first()).toBeEnabled();
  await expectDenied(page, page.getByTestId('trust-add'), 'admin', 'operator');
  await expectDenied(page, page.getByTestId('rotate-key'), 'admin', 'operator');
  await expect(page.getByTestId('drives-card').getByTestId('role-note')).toHaveCount(0);

  await page.evaluate(`location.hash = ${JSON.stringify(`/deployments/${deploymentId}`)}`);
  await expect(page.getByTestId('node-logs').first()).toBeEnabled();
  await expect(page.getByTestId('rollout-panel').getByTestId('rollout-retry')).not.toHaveAttribute(
    'data-denied',
    'true',
  );
  await page.screenshot({ path: `${SHOTS}/operator-deployment.png`, fullPage: true });
});

test('at 1024x700: the whole error behind a Details button, the name rule in words, a new file clears the refusal, nothing cut', async ({
  page,
}) => {
  await open(page, `/deployments/${deploymentId}`);
  const details = page.getByTestId('node-error-details').first();
  await expect(details).toBeVisible();
  // Scrolled down to, it is in sight without scrolling the grid sideways.
  await page.mouse.move(600, 400);
  for (let i = 0; i < 10 && !(await details.evaluate((e) => e.getBoundingClientRect().bottom < 690)); i++)
    await page.mouse.wheel(0, 200);
  await expect(details).toBeInViewport();
  expect(
    await page
      .locator('.MuiDataGrid-virtualScroller')
      .first()
      .evaluate((e) => e.scrollLeft),
  ).toBe(0);
  await details.click();
  await expect(page.getByTestId('node-error-full').getByTestId('node-error-text').first()).toHaveText(
    LONG_ERROR,
  );
  await expect
    .poll(() =>
      page.evaluate<number>(`document.getAnimations().filter((a) => a.playState === 'running').length`),
    )
    .toBe(0);
  await page.screenshot({ path: `${SHOTS}/node-error-details.png` });
  await page.keyboard.press('Escape');

  // Column titles are whole on the grids at this size.
  for (const route of ['/sites', `/deployments/${deploymentId}`, '/deployments', '/audit']) {
    await page.evaluate(`location.hash = ${JSON.stringify(route)}`);
    await expect(page.locator('.MuiDataGrid-columnHeaderTitle', { hasText: /\w/ }).first()).toBeVisible();
    const cut = await page.evaluate<string[]>(
      `[...document.querySelectorAll('.MuiDataGrid-columnHeaderTitle')].filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent)`,
    );
    expect(cut, `cut column titles on ${route}`).toEqual([]);
    await page.screenshot({ path: `${SHOTS}/grid${route.replace(/[/?=&]+/g, '-')}.png` });
  }

  // Add app: a refused file, then a new one: the refusal goes.
  await page.evaluate(`location.hash = '/apps'`);
  await page.getByTestId('add-app').click();
  await page.getByTestId('app-file').setInputFiles({
    name: 'margo.yaml',
    mimeType: 'application/yaml',
    buffer: Buffer.from('id: broken\nmetadata: 3\n'),
  });
  await page.getByTestId('add-app-submit').click();
  await expect(page.getByRole('dialog').getByTestId('error')).toBeVisible();
  await page.screenshot({ path: `${SHOTS}/add-app-refused.png` });
  await page.getByTestId('app-file').setInputFiles({
    name: 'margo.yaml',
    mimeType: 'application/yaml',
    buffer: Buffer.from(APP.replace('1.0.0', '1.2.0').replace('1.0.0', '1.2.0')),
  });
  await expect(page.getByRole('dialog').getByTestId('error')).toHaveCount(0);
  await page.screenshot({ path: `${SHOTS}/add-app-new-file.png` });
  await page.keyboard.press('Escape');

  // The device-model drawer opens above the top bar.
  await api.deviceModels.add({
    upload: {
      fileName: 'edgecircuit-g12.yaml',
      // Without its icon (a file beside it, not uploaded here).
      content: fs
        .readFileSync('resources/samples/device-models/edgecircuit-g12.yaml', 'utf8')
        .replace(/^\s*icon:.*$/m, ''),
    },
  });
  await page.evaluate(`location.hash = '/devices'`);
  const card = page.getByTestId('device-model-card').first();
  {
    await card.click();
    const drawer = page.locator('.MuiDrawer-paper').last();
    await expect(drawer).toBeVisible();
    // What is drawn at the drawer's top left corner is the drawer, not the top bar.
    const top = await drawer.evaluate((e) => {
      const r = e.getBoundingClientRect();
      const doc = (globalThis as unknown as { document: { elementFromPoint(x: number, y: number): unknown } })
        .document;
      const hit = doc.elementFromPoint(r.left + 20, r.top + 10);
      return { y: r.top, inside: hit !== null && e.contains(hit as typeof e) };
    });
    expect(top).toEqual({ y: 0, inside: true });
    await page.screenshot({ path: `${SHOTS}/device-drawer.png` });
    await page.keyboard.press('Escape');
  }
});

test('axe finds no serious violation in any dialog or wizard step, in either theme', async ({ page }) => {
  test.setTimeout(300_000);
  await open(page);
  const found: (AxeViolation & { where: string; theme: string })[] = [];
  const judge = async (where: string, theme: string) => {
    await expect
      .poll(() =>
        page.evaluate<number>(`document.getAnimations().filter((a) => a.playState === 'running').length`),
      )
      .toBe(0);
    for (const v of await seriousAxeViolations(page)) found.push({ ...v, where, theme });
  };
  const dialog = page.getByRole('dialog');
  const inDialog = async (route: string, opener: string, where: string, theme: string) => {
    await page.evaluate(`location.hash = ${JSON.stringify(route)}`);
    await page.getByTestId(opener).first().click();
    await expect(dialog.first()).toBeVisible();
    await judge(where, theme);
    await page.keyboard.press('Escape');
    await expect(dialog).toHaveCount(0);
  };
  for (const theme of ['light', 'dark'] as const) {
    if ((await page.getByTestId('theme-toggle').getAttribute('data-mode')) !== theme)
      await page.getByTestId('theme-toggle').click();
    await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-mode', theme);
    await inDialog('/apps', 'add-app', 'Add application', theme);
    await inDialog('/devices', 'add-device-model', 'Add device model', theme);
    await inDialog('/sites', 'add-site', 'Add site', theme);
    await inDialog('/sites', 'add-node', 'Add node', theme);
    await inDialog('/sites', 'enroll-nodes', 'Enroll nodes', theme);
    await inDialog('/nodes/edge-2', 'node-labels', 'Edit labels', theme);
    await inDialog('/nodes/edge-2', 'node-model', 'Set model', theme);
    await inDialog('/nodes/edge-2', 'node-revoke', 'Revoke node', theme);
    await inDialog(`/deployments/${deploymentId}`, 'update-deployment', 'Update deployment', theme);
    await inDialog(`/deployments/${deploymentId}`, 'remove-deployment', 'Remove deployment', theme);
    await inDialog(`/deployments/${deploymentId}`, 'node-logs', 'Logs', theme);
    await inDialog('/airgap', 'export-button', 'Export bundle', theme);
    await inDialog('/airgap', 'trust-add', 'Trust a key', theme);

    // The deployment wizard, step by step.
    await page.evaluate(`location.hash = '/deployments/new'`);
    await page.locator('[data-testid="wizard-app"][data-app-id="greeter"]').click();
    await judge('wizard: application', theme);
    for (const step of ['version and profile', 'parameters', 'target']) {
      await page.getByTestId('wizard-next').click();
      await judge(`wizard: ${step}`, theme);
    }
    await choose(page, page.getByTestId('target-site'), 'plant-1');
    await page.getByTestId('wizard-next').click();
    await expect(page.getByTestId('placement-summary')).toBeVisible();
    await judge('wizard: placement preview', theme);
    await page.getByTestId('wizard-next').click();
    await page.getByTestId('deployment-name-input').fill('Not valid');
    await judge('wizard: confirm (with a bad name)', theme);
    await page.screenshot({ path: `${SHOTS}/wizard-confirm-${theme}.png`, fullPage: true });
  }
  expect(found).toEqual([]);
});

test('keyboard only: enroll a node from the Sites page and open its node page', async ({ page }) => {
  await open(page, '/sites');
  await expect(page.getByRole('heading', { level: 1, name: 'Sites & Nodes' })).toBeVisible();
  // Tab to "Enroll nodes" (no mouse), open it with Enter.
  const enroll = page.getByTestId('enroll-nodes');
  await tabTo(page, enroll, 60);
  await expect(enroll).toBeFocused();
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  // Focus is in the dialog; type the names, then Tab to Create and press it.
  const names = page.getByTestId('enroll-names');
  await tabTo(page, names, 20);
  await expect(names).toBeFocused();
  await page.keyboard.type('edge-k1');
  const create = page.getByTestId('enroll-create');
  await tabTo(page, create, 20);
  await expect(create).toBeFocused();
  await page.keyboard.press('Enter');
  const card = page.getByTestId('enroll-token');
  await expect(card).toHaveCount(1);
  await expect(card.getByTestId('enroll-command')).toHaveValue(/edgectl agent enroll .*--token \S+$/);
  await page.screenshot({ path: `${SHOTS}/keyboard-enroll.png` });
  // The node's link, reached with Tab, opens its page with Enter.
  const link = card.getByRole('link', { name: 'edge-k1' });
  await tabTo(page, link, 30);
  await expect(link).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Node edge-k1' })).toBeVisible();
  expect((await api.nodes.get({ name: 'edge-k1' })).state).toBe('registered');
});
