import { test, expect, type Page } from '@playwright/test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { seedFleet } from '../helpers/seed-fleet.js';
import { seriousAxeViolations, type AxeViolation } from '../helpers/axe.js';
import { startAgentProcess, writeAgentConfig, type AgentProcess } from '../fixtures/agent/harness.js';
import { contract, createClient, createHttpTransport, type Contract } from '../../lib/contract/index.js';
import type { ClientOf } from '../../lib/contract/index.js';
import { createPaths } from '../../lib/base/index.js';

/**
 * The console an operator lives in (issue 16), in Debian's Chromium against real servers: the Dashboard
 * says what needs attention in a 10,000-node fleet and reaches the fix in one click; a node page says why
 * an app does not fit; bulk actions on the grid; dark mode that is remembered; axe-core finds no serious
 * or critical violation on any page in either theme; a real agent enrolls from the enrollment dialog.
 */
test.describe.configure({ mode: 'serial' });

const TOTAL = 10_000;
const SAMPLE_APP = path.resolve('resources/samples/hello-wasm/margo.yaml');
const SHOTS = 'test-results/console';

let server: ServerProcess;
let home: ReturnType<typeof tempHome>;
let api: ClientOf<Contract>;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  home = tempHome('outpost-e2e-console-');
  // Node i: plant-a for even i, plant-b for odd; seen 1 s, 12 min, 1 h ago or never by i % 4 (stale
  // after 10 min, offline after 30): 2,500 offline nodes at plant-a, 2,500 stale ones at plant-b.
  seedFleet(home.home, TOTAL);
  server = await startServer(home.home);
  api = createClient(
    contract,
    createHttpTransport({ baseUrl: server.info.url, token: server.info.token, timeoutMs: 60_000 }),
  );
  await api.apps.add({
    source: {
      kind: 'upload',
      upload: { fileName: 'margo.yaml', content: fs.readFileSync(SAMPLE_APP, 'utf8') },
    },
  });
});
test.afterAll(async () => {
  await server?.stop();
  home?.cleanup();
});

async function open(page: Page, route = '/') {
  await page.goto(`${server.info.url}/#token=${server.info.token}`);
  await expect(page.getByTestId('live-indicator')).toHaveText('live');
  if (route !== '/') await page.evaluate(`location.hash = ${JSON.stringify(route)}`);
}

test('the Dashboard shows what needs attention, worst first, and one click reaches the fix', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await open(page);
  const items = page.getByTestId('attention-item');
  await expect(items.first()).toBeVisible({ timeout: 30_000 });
  await expect(items.first()).toHaveAttribute('data-severity', 'critical');
  await expect(items.first().getByTestId('attention-title')).toHaveText('2500 nodes offline at plant-a');
  await expect(items.nth(1).getByTestId('attention-title')).toHaveText('2500 nodes stale at plant-b');
  // Since when, with the absolute time on hover.
  const when = items.first().getByTestId('attention-when');
  await expect(when).toHaveText(/^last seen 1h \d+m ago$/);
  expect(await when.getAttribute('title')).toBeTruthy();
  await expect(page.getByTestId('attention-counts')).toHaveText('1 critical · 1 warning · 0 info');
  // The plots draw from the history the server sampled when it started.
  await expect(page.getByTestId('chart-presence')).toHaveAttribute('data-points', /^[1-9]\d*$/);
  await expect(page.getByTestId('site-row')).toHaveCount(2);
  await page.screenshot({ path: `${SHOTS}/dashboard-attention.png`, fullPage: true });

  await items.first().getByTestId('attention-action').click();
  await expect.poll(() => new URL(page.url()).hash).toBe('#/sites?site=plant-a&presence=offline');
  await expect(page.getByTestId('node-count')).toHaveText('2500 nodes at plant-a offline', {
    timeout: 30_000,
  });
  await expect(page.getByTestId('presence').first()).toHaveAttribute('data-presence', 'offline');
  await page.screenshot({ path: `${SHOTS}/dashboard-fix.png`, fullPage: true });
});

test('a node page shows the node and says why an app does not fit it', async ({ page }) => {
  await open(page, '/sites?site=plant-a&presence=offline');
  await expect(page.getByTestId('node-count')).toHaveText('2500 nodes at plant-a offline', {
    timeout: 30_000,
  });
  const link = page.getByTestId('node-link').first();
  const name = (await link.textContent())!;
  await link.click();
  await expect(page.getByRole('heading', { level: 1, name: `Node ${name}` })).toBeVisible();
  await expect(page).toHaveTitle(`Node ${name} · Outpost`);
  await expect(page.getByTestId('node-presence').getByText('Last seen')).toBeVisible();
  const fit = page.getByTestId('fit').first();
  await expect(fit).toHaveAttribute('data-app', 'hello-wasm');
  await expect(fit).toHaveAttribute('data-fits', 'false');
  // In the placement's words: the node is offline.
  await expect(fit.getByTestId('fit-reasons')).toContainText(/offline/i);
  await page.screenshot({ path: `${SHOTS}/node-page.png`, fullPage: true });
});

test('bulk actions label and cordon the nodes selected in the grid, in one call', async ({ page }) => {
  await open(page, '/sites?site=plant-b&presence=stale');
  await expect(page.getByTestId('node-count')).toHaveText('2500 nodes at plant-b stale', { timeout: 30_000 });
  const rows = page.locator('.MuiDataGrid-row');
  const names: string[] = [];
  for (const i of [0, 1]) {
    const row = rows.nth(i);
    names.push((await row.getByTestId('node-link').textContent())!);
    await row.getByRole('checkbox').check();
  }
  await expect(page.getByTestId('bulk-count')).toHaveText('2 nodes selected');
  await page.getByTestId('bulk-label').click();
  await page.getByTestId('bulk-label-set').fill('zone=z1, line=l2');
  await page.getByTestId('bulk-label-apply').click();
  await expect(page.getByTestId('bulk-actions')).toBeHidden({ timeout: 30_000 });
  for (const n of names)
    expect((await api.nodes.get({ name: n })).labels).toMatchObject({ zone: 'z1', line: 'l2' });
  for (const i of [0, 1]) await rows.nth(i).getByRole('checkbox').check();
  await page.getByTestId('bulk-cordon').click();
  await expect(page.getByTestId('bulk-actions')).toBeHidden({ timeout: 30_000 });
  for (const n of names) expect((await api.nodes.get({ name: n })).cordoned).toBe(true);
  const audit = await api.system.audit({ limit: 2, action: 'nodes.bulk' });
  expect(audit.entries).toHaveLength(2);
  await page.screenshot({ path: `${SHOTS}/bulk.png`, fullPage: true });
});

test('the audit log is filtered by the server and shows the input of an entry', async ({ page }) => {
  await open(page, '/audit');
  await page.getByTestId('audit-search').fill('nodes.bulk');
  await expect(page.getByTestId('audit-total')).toHaveText('2 entries');
  await page.locator('.MuiDataGrid-row').first().click();
  await expect(page.getByTestId('audit-input')).toContainText('"kind": "cordon"');
  await page.screenshot({ path: `${SHOTS}/audit.png`, fullPage: true });
});

test('a keyboard reaches the content with the skip link and every page from the side menu', async ({
  page,
}) => {
  await open(page);
  await page.keyboard.press('Tab');
  await expect(page.getByTestId('skip-link')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('main')).toBeFocused();
  // The menu entries are links: Tab reaches them, Enter opens the page.
  const entry = page.getByRole('navigation').getByRole('link', { name: 'Deployments' });
  await entry.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Deployments' })).toBeVisible();
  await expect(page).toHaveTitle('Deployments · Outpost');
});

test('dark mode is remembered, and axe finds no serious violation on any page in either theme', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await open(page);
  const node = (await api.nodes.list({ siteId: 'plant-a', limit: 1 })).nodes[0]!.name;
  const pages: [string, string][] = [
    ['/', 'Dashboard'],
    ['/apps', 'App Store'],
    ['/devices', 'Device Store'],
    ['/sites', 'Sites & Nodes'],
    ['/deployments', 'Deployments'],
    ['/airgap', 'Air gap'],
    ['/audit', 'Audit'],
    ['/settings', 'Settings'],
    [`/nodes/${node}`, `Node ${node}`],
  ];
  const found: (AxeViolation & { page: string; theme: string })[] = [];
  for (const theme of ['light', 'dark'] as const) {
    if ((await page.getByTestId('theme-toggle').getAttribute('data-mode')) !== theme) {
      await page.getByTestId('theme-toggle').click();
      await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-mode', theme);
    }
    for (const [route, heading] of pages) {
      await page.evaluate(`location.hash = ${JSON.stringify(route)}`);
      await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible({ timeout: 30_000 });
      // Let the page's data arrive (skeletons gone) before judging it.
      await expect(page.locator('.MuiSkeleton-root')).toHaveCount(0, { timeout: 30_000 });
      // ...and its transitions end (a button fading from disabled to enabled is between two colours).
      await expect
        .poll(() =>
          page.evaluate<number>(`document.getAnimations().filter((a) => a.playState === 'running').length`),
        )
        .toBe(0);
      for (const v of await seriousAxeViolations(page)) found.push({ ...v, page: route, theme });
    }
    await page.evaluate(`location.hash = '/'`);
    await page.screenshot({ path: `${SHOTS}/dashboard-${theme}.png`, fullPage: true });
  }
  expect(found).toEqual([]);

  // Dark was picked last: it survives a reload.
  await page.reload();
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-mode', 'dark');
  const bg = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
  expect(bg).toBe('rgb(18, 22, 27)');
  await page.getByTestId('theme-toggle').click();
  await page.reload();
  await expect(page.getByTestId('theme-toggle')).toHaveAttribute('data-mode', 'light');
});

test.describe('enrollment from the console', () => {
  let lo: ServerProcess;
  let loHome: ReturnType<typeof tempHome>;
  let scratch: string;
  let agent: AgentProcess | undefined;

  test.beforeAll(async () => {
    loHome = tempHome('outpost-e2e-enroll-');
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-e2e-enroll-agent-'));
    // The Margo interface on a free port; no NATS, registry or mDNS (their fixed ports could collide).
    fs.writeFileSync(
      createPaths(loHome.home).configFile,
      'nats:\n  enabled: false\nmmi:\n  port: 0\nregistry:\n  enabled: false\ndiscovery:\n  enabled: false\n',
    );
    lo = await startServer(loHome.home);
  });
  test.afterAll(async () => {
    await agent?.stop();
    await lo?.stop();
    loHome?.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('a real agent enrolls with the command from the dialog and turns online there', async ({
    page,
    request,
  }) => {
    test.setTimeout(120_000);
    const rpc = (method: string, data: unknown) =>
      request.post(`${lo.info.url}/api/v1/rpc/${method}`, {
        headers: { authorization: `Bearer ${lo.info.token}` },
        data,
      });
    expect((await rpc('sites.add', { id: 'plant-e', name: 'Plant E' })).ok()).toBe(true);
    await page.goto(`${lo.info.url}/#token=${lo.info.token}`);
    await expect(page.getByTestId('live-indicator')).toHaveText('live');
    await page.getByRole('navigation').getByText('Sites & Nodes', { exact: true }).click();
    await page.getByTestId('enroll-nodes').click();
    await page.getByTestId('enroll-names').fill('edge-e1');
    await page.getByTestId('enroll-create').click();
    const card = page.getByTestId('enroll-token');
    await expect(card).toHaveCount(1);
    await expect(card.getByTestId('enroll-qr').locator('svg')).toBeVisible();
    await expect(card.getByTestId('enroll-node-state')).toHaveAttribute('data-state', 'registered');
    const command = await card.getByTestId('enroll-command').inputValue();
    expect(command).toMatch(/^edgectl agent enroll --lo https:\/\/127\.0\.0\.1:\d+ --token \S+$/);
    await page.screenshot({ path: `${SHOTS}/enroll-token.png`, fullPage: true });

    // On the node: exactly that command (with its own home), then the agent runs.
    const h = path.join(scratch, 'node');
    writeAgentConfig(h, { runtimes: { container: { enabled: false }, compose: { enabled: false } } });
    const args = command.split(' ').slice(1);
    const r = await edgectl([...args, '--home', h]);
    expect(r.code, r.stderr).toBe(0);
    await expect(card.getByTestId('enroll-node-state')).toHaveAttribute('data-state', 'enrolled', {
      timeout: 30_000,
    });
    agent = startAgentProcess(h);
    await expect(card.getByTestId('presence')).toHaveAttribute('data-presence', 'online', {
      timeout: 60_000,
    });
    await page.screenshot({ path: `${SHOTS}/enroll-online.png`, fullPage: true });

    // Revoke from its node page.
    await card.getByRole('link', { name: 'edge-e1' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Node edge-e1' })).toBeVisible();
    await expect(page.getByTestId('svid-expiry')).toBeVisible();
    await page.getByTestId('node-revoke').click();
    await page.getByRole('button', { name: 'Revoke', exact: true }).last().click();
    await expect(page.getByTestId('node-state')).toHaveText('revoked', { timeout: 30_000 });
    const audit = (await (await rpc('system.audit', { limit: 5, action: 'identity.revokeNode' })).json()) as {
      entries: { target: string }[];
    };
    expect(audit.entries.map((e) => e.target)).toEqual(['node/edge-e1']);
  });
});
