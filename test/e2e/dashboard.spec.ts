import { test, expect } from '@playwright/test';
import { startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';

let server: ServerProcess;
let home: ReturnType<typeof tempHome>;

test.beforeAll(async () => {
  home = tempHome('outpost-e2e-');
  server = await startServer(home.home);
});
test.afterAll(async () => {
  await server?.stop();
  home.cleanup();
});

test('the dashboard shows the version and role the API reports', async ({ page, request }) => {
  const api = await request.post(`${server.info.url}/api/v1/rpc/system.status`, {
    headers: { authorization: `Bearer ${server.info.token}` },
    data: {},
  });
  expect(api.ok()).toBe(true);
  const status = (await api.json()) as { version: string; role: string; counts: { apps: number } };

  // The first answers are asked for by the early script, before the console's own scripts run, and the
  // console takes them: each is asked for once (ADR 0234).
  const asked: string[] = [];
  page.on('request', (r) => {
    const m = /\/api\/v1\/rpc\/([\w.]+)$/.exec(r.url());
    if (m) asked.push(m[1]!);
  });
  await page.goto(`${server.info.url}/#token=${server.info.token}`);
  // The token leaves the address bar once it is stored.
  await expect.poll(() => page.url()).not.toContain('token=');
  await expect(page.getByTestId('version')).toHaveAttribute('data-value', status.version);
  await expect(page.getByTestId('attention-none')).toBeVisible();
  const firstAsked = [...asked];
  for (const channel of ['system.whoami', 'system.status', 'health.attention'])
    expect(
      firstAsked.filter((c) => c === channel),
      channel,
    ).toHaveLength(1);
  // ... and all three early answers were taken by the console.
  expect(await page.evaluate('window.__outpostEarlyCalls?.length')).toBe(0);
  await expect(page.getByTestId('role')).toHaveAttribute('data-value', status.role);
  await expect(page.getByTestId('version')).toContainText(status.version);
  await expect(page.getByTestId('count-apps')).toHaveText(String(status.counts.apps));
  await expect(page.getByTestId('live-indicator')).toHaveText('live');
  await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });

  // Every page of the navigation renders.
  for (const label of [
    'App Store',
    'Device Store',
    'Sites & Nodes',
    'Deployments',
    'Air gap',
    'Audit',
    'Settings',
  ]) {
    await page.getByRole('navigation').getByText(label, { exact: true }).click();
    await expect(page.getByRole('heading', { name: label })).toBeVisible();
  }
});

test('without a token the console asks for one instead of failing', async ({ page }) => {
  await page.goto(server.info.url + '/');
  await expect(page.getByText('Sign in to the console')).toBeVisible();
});
