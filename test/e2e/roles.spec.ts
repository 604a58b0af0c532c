import { test, expect, type Page } from '@playwright/test';
import { startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';

/**
 * The console shows what the signed-in token's roles allow, as the server says (`system.whoami`,
 * issue 17): what a role cannot do is hidden or disabled, with the role it needs; a revoked token signs
 * the console out.
 */
let server: ServerProcess;
let home: ReturnType<typeof tempHome>;

async function rpc<T>(method: string, data: unknown, token = server.info.token): Promise<T> {
  const res = await fetch(`${server.info.url}/api/v1/rpc/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(data),
  });
  const body = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function tokenWith(role: string): Promise<{ token: string; id: string }> {
  const r = await rpc<{ token: string; info: { id: string } }>('tenants.createToken', {
    name: `e2e ${role}`,
    roles: [role],
  });
  return { token: r.token, id: r.info.id };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(server.info.url + '/');
  await page.getByTestId('token-input').fill(token);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test.beforeAll(async () => {
  home = tempHome('outpost-e2e-roles-');
  server = await startServer(home.home);
});
test.afterAll(async () => {
  await server?.stop();
  home.cleanup();
});

test('a viewer sees the stores and deployments without the actions it may not take, and why', async ({
  page,
}) => {
  const viewer = await tokenWith('viewer');
  await signIn(page, viewer.token);
  await expect(page.getByTestId('signed-in-as')).toContainText('viewer');

  await page.getByRole('navigation').getByText('App Store', { exact: true }).click();
  await expect(page.getByRole('heading', { name: 'App Store' })).toBeVisible();
  await expect(page.getByTestId('add-app')).toHaveCount(0);
  const needs = page.getByTestId('needs-role-apps.add');
  await expect(needs).toContainText('Add application: needs app-developer');
  await needs.hover();
  await expect(page.getByRole('tooltip')).toHaveText(
    'apps.add needs the app-developer role (you have viewer)',
  );

  await page.getByRole('navigation').getByText('Device Store', { exact: true }).click();
  await expect(page.getByTestId('add-device-model')).toHaveCount(0);
  await expect(page.getByTestId('needs-role-deviceModels.add')).toContainText(
    'Add device model: needs device-developer',
  );

  await page.getByRole('navigation').getByText('Deployments', { exact: true }).click();
  await expect(page.getByTestId('new-deployment')).toHaveCount(0);
  await expect(page.getByTestId('needs-role-deployments.create')).toContainText(
    'New deployment: needs operator',
  );

  await page.getByRole('navigation').getByText('Sites & Nodes', { exact: true }).click();
  await expect(page.getByTestId('add-site')).toHaveCount(0);
  await expect(page.getByTestId('needs-role-sites.add')).toContainText('Add site: needs tenant-admin');
  await expect(page.getByTestId('role-note')).toContainText('changing nodes needs operator');
  await page.screenshot({ path: 'test-results/roles-viewer.png', fullPage: true });
});

test('an app developer may add applications but not deploy them', async ({ page }) => {
  const dev = await tokenWith('app-developer');
  await signIn(page, dev.token);
  await expect(page.getByTestId('signed-in-as')).toContainText('app-developer');
  await page.getByRole('navigation').getByText('App Store', { exact: true }).click();
  await expect(page.getByTestId('add-app')).toBeVisible();
  await expect(page.getByTestId('needs-role-apps.add')).toHaveCount(0);
  await page.getByRole('navigation').getByText('Deployments', { exact: true }).click();
  await expect(page.getByTestId('needs-role-deployments.create')).toContainText('needs operator');
});

test('an operator deploys; revoking its token signs the console out', async ({ page }) => {
  const op = await tokenWith('operator');
  await signIn(page, op.token);
  await expect(page.getByTestId('signed-in-as')).toContainText('operator');
  await page.getByRole('navigation').getByText('Deployments', { exact: true }).click();
  await expect(page.getByTestId('new-deployment')).toBeVisible();
  await expect(page.getByTestId('live-indicator')).toHaveText('live');

  // Revoking the token ends its event stream; the console asks who is signed in and is told nobody.
  await rpc('tenants.revokeToken', { id: op.id });
  await expect(page.getByTestId('signed-out')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText('Sign in to the console')).toBeVisible();
});

test('a token that does not work is refused at sign-in', async ({ page }) => {
  await signIn(page, 'opt_not-a-token');
  await expect(page.getByText('Sign in to the console')).toBeVisible();
  await expect(page.getByTestId('error')).toHaveAttribute('data-code', 'unauthorized');
  await expect(page.getByTestId('signed-in-as')).toHaveCount(0);
});
