import fs from 'node:fs';
import path from 'node:path';
import { test, expect } from '@playwright/test';
import { startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { contract, createClient, createHttpTransport } from '../../lib/contract/index.js';

// Issue 19, defect 1: the console shows each site's link from evidence (ADR 0165), as `co sites` does. A site
// linked as the README says (`co link-site`, no LO registered by hand) is "linked over NATS", never "no LO
// registered"; a link that never carried anything is not connected and its backlog is unknown, never 0.

let server: ServerProcess;
let home: ReturnType<typeof tempHome>;

test.beforeAll(async () => {
  home = tempHome('outpost-e2e-links-');
  fs.writeFileSync(path.join(home.home, 'config.yaml'), 'nats:\n  port: 0\n  leafPort: 0\nmmi:\n  port: 0\n');
  server = await startServer(home.home);
  const api = createClient(
    contract,
    createHttpTransport({ baseUrl: server.info.url, token: server.info.token }),
  );
  await api.sites.add({ id: 'plant-9', name: 'Plant 9', servedBy: 'remote' });
  await expect
    .poll(async () => (await api.system.status({})).nats?.state, { timeout: 30_000 })
    .toBe('running');
  await api.messaging.linkSite({ siteId: 'plant-9' });
});
test.afterAll(async () => {
  await server?.stop();
  home?.cleanup();
});

test('the Sites table shows each link from evidence', async ({ page }) => {
  await page.goto(`${server.info.url}/#token=${server.info.token}`);
  await expect.poll(() => page.url(), { timeout: 20_000 }).not.toContain('token=');
  await page.evaluate(`location.hash = '/sites'`);
  const row = page.locator('[data-testid="site-row"][data-site-id="plant-9"]');
  await expect(row.getByTestId('site-linked')).toHaveText('linked over NATS');
  await expect(row).not.toContainText('no LO registered');
  await expect(row.getByTestId('site-link')).toHaveAttribute('data-link', 'disconnected');
  await expect(row.getByTestId('site-link-detail')).toContainText('backlog unknown');
  await page.screenshot({ path: 'test-results/site-links.png', fullPage: true });
});
