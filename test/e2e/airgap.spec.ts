import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { test, expect, type Page } from '@playwright/test';
import { createClient, createHttpTransport, contract } from '../../lib/contract/index.js';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { createMmiClient } from '../helpers/mmi-client.js';
import { capabilitiesFor } from '../fixtures/margo.js';
import { compileHello, wasmApp } from '../fixtures/agent/harness.js';

/**
 * The Air gap page (issue 13) on two consoles, HQ's and a site's, with a file picker instead of a drive:
 * HQ exports a bundle for the site (a download, with its progress), the site's console uploads it,
 * shows the verification report before anything changes, and applies it; the site's status bundle goes
 * back the same way and HQ shows the site's last bundle with its age.
 */
let hq: ServerProcess;
let site: ServerProcess;
let origin: TestRegistry;
const homes = { hq: tempHome('outpost-e2e-hq-'), site: tempHome('outpost-e2e-site-') };
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-e2e-airgap-'));
const api = (s: ServerProcess) =>
  createClient(
    contract,
    createHttpTransport({ baseUrl: s.info.url, token: s.info.token, timeoutMs: 30_000 }),
  );

async function job(s: ServerProcess, id: string) {
  for (;;) {
    const j = await api(s).bundle.job({ id });
    if (j.state !== 'running') return j;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.beforeAll(async () => {
  test.setTimeout(180_000);
  origin = await startRegistry();
  const wasm = await compileHello('hello from the console', work, 'hello');
  const pushed = await edgectl(['oci', 'push', wasm, `${origin.host}/samples/hello:1.0.0`, '--plain-http']);
  expect(pushed.code, pushed.stderr).toBe(0);
  fs.writeFileSync(
    path.join(homes.hq.home, 'config.yaml'),
    stringify({ role: 'co', nats: { enabled: false } }),
  );
  fs.writeFileSync(
    path.join(homes.site.home, 'config.yaml'),
    stringify({ role: 'lo', site: { id: 'plant-1', name: 'Plant 1' }, nats: { enabled: false } }),
  );
  hq = await startServer(homes.hq.home);
  site = await startServer(homes.site.home);
  const h = api(hq);
  const s = api(site);
  // Trust, a node at the site known to HQ, and a deployment for it: set up through the API.
  await s.bundle.trustAdd({ publicKey: (await h.bundle.exportKey({})).publicKey, name: 'hq' });
  await h.sites.add({ id: 'plant-1', airGapped: true });
  await h.bundle.trustAdd({
    publicKey: (await s.bundle.exportKey({})).publicKey,
    siteId: 'plant-1',
    name: 'plant-1',
  });
  const t = await s.identity.createEnrollToken({ node: 'edge-1', siteId: 'plant-1', ttlMinutes: 10 });
  const e = await enrollOverMmi(site.info.mmiUrl!, t);
  const mmi = createMmiClient({ baseUrl: site.info.mmiUrl!, ...e });
  expect((await mmi.put('/api/v1/capabilities/edge-1', capabilitiesFor('edge-1'))).status).toBe(201);
  mmi.close();
  const st = await job(site, (await s.bundle.exportStatus({ out: work })).id);
  expect((await job(hq, (await h.bundle.import({ file: st.result!.file! })).id)).error).toBeNull();
  const app = wasmApp({ id: 'hello', version: '1.0.0', repository: `oci://${origin.host}/samples/hello` });
  await h.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: app } } });
  await h.deployments.create({ appId: 'hello', target: { siteId: 'plant-1' } });
});

test.afterAll(async () => {
  await site?.stop();
  await hq?.stop();
  await origin?.stop();
  homes.hq.cleanup();
  homes.site.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

async function openAirGap(page: Page, s: ServerProcess) {
  await page.goto(`${s.info.url}/#token=${s.info.token}`);
  await page.getByRole('navigation').getByText('Air gap', { exact: true }).click();
  await expect(page.getByTestId('airgap-page')).toBeVisible();
}

/** Exports from the open page with "this computer" as the destination; returns the saved file. */
async function exportToDownload(page: Page, rowSite: string, name: string): Promise<string> {
  await page
    .getByTestId('stream-row')
    .filter({ has: page.locator(`code:text-is("${rowSite}")`) })
    .getByTestId('export-button')
    .click();
  const dialog = page.getByTestId('export-dialog');
  await expect(dialog).toBeVisible();
  const download = page.waitForEvent('download');
  await dialog.getByTestId('export-start').click();
  await expect(dialog.getByTestId('export-job')).toHaveAttribute('data-state', 'succeeded', {
    timeout: 60_000,
  });
  const d = await download;
  expect(d.suggestedFilename()).toBe(name);
  const file = path.join(work, `picked-${name}`);
  await d.saveAs(file);
  await expect(dialog.getByTestId('export-done')).toContainText(name);
  await dialog.getByRole('button', { name: 'Close' }).click();
  return file;
}

/** Picks a file, verifies it (the report shows), then applies it. */
async function importPicked(page: Page, file: string, expectReport: RegExp) {
  const card = page.getByTestId('import-card');
  await card.getByTestId('import-file').setInputFiles(file);
  await expect(card.getByTestId('import-file-name')).toContainText(path.basename(file));
  await expect(card.getByTestId('import-button')).toBeDisabled();
  await card.getByTestId('verify-button').click();
  await expect(card.getByTestId('verify-job')).toHaveAttribute('data-state', 'succeeded', {
    timeout: 60_000,
  });
  await expect(card.getByTestId('bundle-report')).toContainText(expectReport);
  await card.getByTestId('import-button').click();
  await expect(card.getByTestId('import-done')).toBeVisible({ timeout: 60_000 });
}

test('HQ exports a bundle, the site verifies and imports it, and the status comes back', async ({ page }) => {
  test.setTimeout(180_000);
  await openAirGap(page, hq);
  await expect(page.getByTestId('stream-row').first().getByTestId('site-reach')).toContainText('air-gapped');
  const bundle = await exportToDownload(page, 'plant-1', 'hq-to-plant-1-1.outpost.tar');
  await expect(page.getByTestId('stream-row').first().getByTestId('bundle-summary').first()).toHaveAttribute(
    'data-sequence',
    '1',
  );

  // At the site: nothing changes until the operator applies the verified bundle.
  await openAirGap(page, site);
  await importPicked(page, bundle, /1 new commit/);
  await expect(page.getByTestId('bundle-report')).toContainText('hello 1.0.0');
  const s = api(site);
  expect(
    (await s.bundle.streams({})).streams.find((x) => x.kind === 'hq-to-site')?.lastImported?.sequence,
  ).toBe(1);
  // A refused bundle says why in one line: the same file again is a replay.
  await page.reload();
  const card = page.getByTestId('import-card');
  await card.getByTestId('import-file').setInputFiles(bundle);
  await card.getByTestId('verify-button').click();
  await expect(card.getByTestId('verify-job').getByTestId('error')).toHaveAttribute(
    'data-code',
    'bundle/replay',
    { timeout: 60_000 },
  );
  await page.screenshot({ path: 'test-results/airgap-site.png', fullPage: true });

  // The status bundle goes back to HQ the same way.
  const status = await exportToDownload(page, 'plant-1', 'plant-1-to-hq-2.outpost.tar');
  await openAirGap(page, hq);
  await importPicked(page, status, /status bundle of site plant-1/);
  await expect(page.getByTestId('stream-row').first().getByTestId('site-reach')).toContainText(
    /air-gapped, last bundle/,
  );
  await page.screenshot({ path: 'test-results/airgap-hq.png', fullPage: true });
  await page.getByRole('navigation').getByText('Sites & Nodes', { exact: true }).click();
  await expect(page.getByTestId('site-row').first().getByTestId('site-reach')).toHaveAttribute(
    'data-value',
    'air-gapped',
  );
  // Its nodes are shown with the age of what HQ knows, never as live.
  await page.getByTestId('site-row').first().getByTestId('site-node-count').click();
  await expect(page.getByTestId('airgap-notice')).toContainText('as of a bundle made');
});
