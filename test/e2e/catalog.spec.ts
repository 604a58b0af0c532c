import fs from 'node:fs';
import path from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { startServer, edgectl, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import {
  contract,
  type Contract,
  type DeviceModel,
  type Node,
  type NodesListInput,
  type Site,
  createClient,
  createHttpTransport,
  type ClientOf,
} from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { createPaths } from '../../lib/base/index.js';
import { seedFleet } from '../helpers/seed-fleet.js';

// The App Store, Device Store and Sites & Nodes pages against a real server: data goes in with the CLI
// (as an operator would), and each page must show what `edgectl co list ... -o json` reports.

const SAMPLE_APP = path.resolve('resources/samples/hello-wasm/margo.yaml');
const SAMPLE_APP_NEXT = path.resolve('test/fixtures/apps/hello-wasm-1.1.0');
const INVALID_APP = path.resolve('test/fixtures/apps/invalid/margo.yaml');
const VISION_APP = path.resolve('test/fixtures/apps/vision-inspector/margo.yaml');
const SAMPLE_MODEL = path.resolve('resources/samples/device-models/edgecircuit-g12.yaml');

let server: ServerProcess;
let api: ClientOf<Contract>;
let home: ReturnType<typeof tempHome>;

test.describe.configure({ mode: 'serial' });

/**
 * These pages need neither NATS nor the Margo interface; off, they cannot collide with the fixed ports
 * of another server on this machine.
 */
const SERVER_CONFIG = 'nats:\n  enabled: false\nmmi:\n  enabled: false\n';

test.beforeAll(async () => {
  home = tempHome('outpost-e2e-catalog-');
  fs.writeFileSync(createPaths(home.home).configFile, SERVER_CONFIG);
  server = await startServer(home.home);
  api = createClient(contract, createHttpTransport({ baseUrl: server.info.url, token: server.info.token }));
});
test.afterAll(async () => {
  await server?.stop();
  home.cleanup();
});

/** `edgectl co ...` against the test server; returns the parsed JSON output. */
async function co<T>(...args: string[]): Promise<T> {
  const r = await edgectl(['co', ...args, '-o', 'json', '--home', home.home]);
  expect(r.stderr, `edgectl co ${args.join(' ')}`).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

async function open(page: Page, route: string): Promise<void> {
  await page.goto(`${server.info.url}/#token=${server.info.token}`);
  await expect.poll(() => page.url()).not.toContain('token=');
  await page.evaluate(`location.hash = ${JSON.stringify(route)}`);
  await expect(page.getByTestId('live-indicator')).toHaveText('live');
}

const appCard = (page: Page, id: string) => page.locator(`[data-testid="app-card"][data-app-id="${id}"]`);
const nodeRow = (page: Page, uid: string) => page.locator(`.MuiDataGrid-row[data-id="${uid}"]`);

test('an app added with the CLI appears on the App Store with its icon and versions', async ({ page }) => {
  const added = await co<{ app: { id: string; icon: string | null }; created: boolean }>(
    'add',
    'app',
    '--name',
    'hello-wasm',
    '--artifact',
    SAMPLE_APP,
  );
  expect(added.created).toBe(true);
  expect(added.app.icon).toMatch(/^data:image\/svg\+xml;base64,/);

  await open(page, '/apps');
  const card = appCard(page, 'hello-wasm');
  await expect(card.getByTestId('app-name')).toHaveText('Hello WASM');
  await expect(card.getByTestId('app-tagline')).toHaveText('A friendly WebAssembly greeter for the edge.');
  // The icon is the server's data: URI, shown as an image.
  await expect(card.getByTestId('app-icon')).toHaveAttribute('data-placeholder', 'false');
  await expect(card.locator('img')).toHaveAttribute('src', added.app.icon!);
  await expect(card.getByTestId('version-chip')).toHaveText(['1.0.0']);
  await expect(card.getByTestId('profile-chip')).toHaveText(['custom']);

  // A second version added with the CLI shows up live, without a reload.
  await co('add', 'app', '--name', 'hello-wasm', '--artifact', SAMPLE_APP_NEXT);
  await expect(card.getByTestId('version-chip')).toHaveText(['1.1.0', '1.0.0']);
  const listed = await co<{ id: string; versions: string[] }[]>('list', 'apps');
  expect(listed.find((a) => a.id === 'hello-wasm')?.versions).toEqual(['1.0.0', '1.1.0']);

  // The search asks the server and narrows the grid.
  await page.getByTestId('app-search').fill('no such app');
  await expect(page.getByTestId('no-apps')).toBeVisible();
  await page.getByTestId('app-search').fill('greeter');
  await expect(appCard(page, 'hello-wasm')).toBeVisible();
  await page.screenshot({ path: 'test-results/app-store.png', fullPage: true });
});

test('the Add application dialog shows every field problem the server reports, then adds a valid upload', async ({
  page,
}) => {
  const content = fs.readFileSync(INVALID_APP, 'utf8');
  // What the server says about this file, straight from the API.
  const refused = await api.apps
    .add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content } } })
    .then(
      () => null,
      (e: unknown) => e as OutpostError,
    );
  expect(refused).toBeInstanceOf(OutpostError);
  expect(refused!.errors?.length).toBeGreaterThan(1);

  await open(page, '/apps');
  await page.getByTestId('add-app').click();
  const dialog = page.getByTestId('add-app-dialog');
  await dialog.getByTestId('app-file').setInputFiles(INVALID_APP);
  await expect(dialog.getByTestId('app-file-name')).toContainText('margo.yaml');
  await dialog.getByTestId('add-app-submit').click();
  const error = dialog.getByTestId('error');
  await expect(error).toHaveAttribute('data-code', refused!.code);
  const shown = dialog.getByTestId('field-error');
  await expect(shown).toHaveCount(refused!.errors!.length);
  for (const [i, p] of refused!.errors!.entries()) {
    await expect(shown.nth(i)).toHaveAttribute('data-field', p.field);
    await expect(shown.nth(i)).toHaveAttribute('data-line', String(p.line));
    await expect(shown.nth(i)).toHaveAttribute('data-column', String(p.column));
    await expect(shown.nth(i)).toContainText(`line ${p.line}, column ${p.column}`);
  }
  await page.screenshot({ path: 'test-results/app-store-add-refused.png' });

  // A valid description without an icon: added, then shown in detail, and on the store with a placeholder.
  await dialog.getByTestId('app-file').setInputFiles(VISION_APP);
  await dialog.getByTestId('add-app-submit').click();
  await expect(dialog).toBeHidden();
  const detail = page.getByTestId('app-detail');
  await expect(detail).toHaveAttribute('data-app-id', 'vision-inspector');
  await expect(detail.getByTestId('profile')).toHaveCount(2);
  const helm = detail.locator('[data-testid="profile"][data-profile-id="vision-inspector-helm"]');
  await expect(helm.getByTestId('component')).toHaveCount(2);
  await expect(helm.getByTestId('capacity')).toHaveText([
    'CPU: at least 2 cores, architecture amd64',
    'Memory: at least 4Gi',
    'Storage: at least 20Gi',
  ]);
  await expect(helm.getByTestId('eligibility-rule')).toHaveCount(2);
  await expect(helm.getByTestId('expression')).toHaveText([
    '/vendor In ["EdgeCircuit Systems"]',
    '/peripherals ContainsAny { /type In ["gpu"] }',
    'example.com/line Exists',
    'example.com/camera In ["true"]',
  ]);
  await expect(
    detail.locator('[data-profile-id="vision-inspector-compose"]').getByTestId('no-constraints'),
  ).toBeVisible();
  await page.getByTestId('back-to-store').click();
  await expect(appCard(page, 'vision-inspector').getByTestId('app-icon')).toHaveAttribute(
    'data-placeholder',
    'true',
  );
  await expect(appCard(page, 'vision-inspector').getByTestId('profile-chip')).toHaveText(['helm', 'compose']);
});

test('the detail view shows the profile, parameters and configuration of the chosen version', async ({
  page,
}) => {
  const { version } = await api.apps.get({ id: 'hello-wasm' });
  expect(version.version).toBe('1.1.0');

  await open(page, '/apps');
  await appCard(page, 'hello-wasm').click();
  const detail = page.getByTestId('app-detail');
  await expect(detail).toHaveAttribute('data-version', '1.1.0');
  await expect(detail.getByTestId('app-detail-icon').locator('img')).toHaveAttribute(
    'src',
    (await api.apps.get({ id: 'hello-wasm' })).app.icon!,
  );
  await expect(detail.getByTestId('digest')).toHaveText(version.digest);

  // Parameters: name, default and targets, as the description has them.
  const params = detail.getByTestId('parameter');
  await expect(params).toHaveCount(Object.keys(version.description.parameters).length);
  for (const [name, p] of Object.entries(version.description.parameters)) {
    const row = detail.locator(`[data-testid="parameter"][data-name="${name}"]`);
    await expect(row.getByTestId('parameter-default')).toHaveText(String(p.value));
    await expect(row.getByTestId('parameter-target')).toHaveText(
      p.targets.map((t) => `${t.pointer} → ${t.components.join(', ')}`),
    );
  }
  // Configuration: the section, its settings, and the schema rule each follows.
  const section = detail.locator('[data-testid="config-section"][data-name="Greeting"]');
  await expect(section.getByTestId('setting')).toHaveCount(2);
  await expect(section.locator('[data-parameter="greeting"]').getByTestId('setting-rule')).toHaveText(
    'greetingText: string, length 1 to 80, required',
  );
  await expect(section.locator('[data-parameter="intervalSeconds"]').getByTestId('setting-rule')).toHaveText(
    'intervalRange: integer, 1 to 3600, required',
  );
  // The profile: custom with the wasm runtime, its component, and its device constraints.
  const profile = detail.getByTestId('profile');
  await expect(profile.getByTestId('profile-type')).toHaveText('custom');
  await expect(profile.getByTestId('profile-runtime')).toHaveText('runtime wasm');
  await expect(profile.getByTestId('component')).toContainText('oci://127.0.0.1:5000/samples/hello-wasm');
  await expect(profile.getByTestId('component')).toContainText('1.1.0');
  await expect(profile.getByTestId('expression')).toHaveText(['outpost.dev/runtime.wasm In ["true"]']);
  await page.screenshot({ path: 'test-results/app-detail.png', fullPage: true });

  // The version selector shows the older version.
  await page.getByTestId('version-select').click();
  await page.getByRole('option', { name: '1.0.0' }).click();
  await expect(detail).toHaveAttribute('data-version', '1.0.0');
  await expect(profile.getByTestId('component')).toContainText('1.0.0');
  expect(page.url()).toContain('#/apps/hello-wasm/1.0.0');

  // Removing a version asks first; the other version stays.
  await detail.getByTestId('remove-version').click();
  await page.getByTestId('confirm-dialog').getByTestId('confirm').click();
  await expect(detail).toHaveAttribute('data-version', '1.1.0');
  expect((await api.apps.get({ id: 'hello-wasm' })).app.versions).toEqual(['1.1.0']);
});

test('the Device Store shows what the CLI lists', async ({ page }) => {
  await co('add', 'device-model', '--file', SAMPLE_MODEL);
  const models = await co<DeviceModel[]>('list', 'device-models');
  expect(models.map((m) => m.id)).toEqual(['edgecircuit-g12']);

  await open(page, '/devices');
  for (const m of models) {
    const card = page.locator(`[data-testid="device-model-card"][data-model-id="${m.id}"]`);
    await expect(card.getByTestId('device-model-name')).toHaveText(m.name);
    await expect(card.getByTestId('device-model-vendor')).toHaveText(m.vendor);
    await expect(card.getByTestId('device-model-number')).toHaveText(m.modelNumber);
    await expect(card.getByTestId('runtime-chip')).toHaveText(m.runtimes);
    await expect(card.getByTestId('deployment-type-chip')).toHaveText(m.deploymentTypes);
    await expect(card.getByTestId('device-model-node-count')).toHaveAttribute(
      'data-value',
      String(m.nodeCount),
    );
    await expect(card.getByTestId('device-model-docs')).toHaveAttribute('href', m.documentationUrl!);
    await expect(card.locator('img')).toHaveAttribute('src', m.icon!);
  }
  await page.screenshot({ path: 'test-results/device-store.png', fullPage: true });

  // The detail drawer pretty-prints the capabilities template the server holds.
  await page.locator('[data-model-id="edgecircuit-g12"]').getByTestId('device-model-name').click();
  const drawer = page.getByTestId('device-model-drawer');
  await expect(drawer.getByTestId('device-model-capabilities')).toHaveText(
    JSON.stringify(models[0]!.capabilities, null, 2),
  );
  await page.screenshot({ path: 'test-results/device-store-detail.png' });
  await page.keyboard.press('Escape');

  // A JSON model file uploaded through the dialog; no icon, so a placeholder.
  const file = path.join(home.home, 'pi5.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      id: 'rpi-5',
      vendor: 'Raspberry Pi',
      modelNumber: 'RPI5-8GB',
      runtimes: ['oci', 'wasm'],
      deploymentTypes: ['compose', 'custom'],
      capabilities: { properties: { cpus: [{ cores: 4, architecture: 'arm64' }], memory: '8Gi' } },
    }),
  );
  await page.getByTestId('add-device-model').click();
  await page.getByTestId('device-model-file').setInputFiles(file);
  await page.getByTestId('add-device-model-submit').click();
  await expect(page.getByTestId('device-model-drawer')).toHaveAttribute('data-model-id', 'rpi-5');
  const rpi = await api.deviceModels.get({ id: 'rpi-5' });
  expect(rpi.capabilities.properties.modelNumber).toBe('RPI5-8GB');
  await page.keyboard.press('Escape');
  await expect(
    page.locator('[data-testid="device-model-card"][data-model-id="rpi-5"]').getByTestId('device-model-icon'),
  ).toHaveAttribute('data-placeholder', 'true');
});

test('Sites & Nodes shows what the CLI lists; cordon and labels from the console reach the API', async ({
  page,
}) => {
  await co('add', 'site', 'plant-a', '--name', 'Plant A', '--label', 'region=eu');
  await co('add', 'site', 'plant-b', '--name', 'Plant B', '--remote');
  await co('add', 'node', 'press-01', '--site', 'plant-a', '--model', 'edgecircuit-g12', '--label', 'line=3');
  const sites = await co<Site[]>('list', 'sites');
  const { nodes } = await co<{ nodes: Node[] }>('list', 'nodes');
  const press = nodes.find((n) => n.name === 'press-01')!;
  expect(press.presence).toBe('unknown');
  expect(press.lastSeenAt).toBeNull();

  await open(page, '/sites');
  for (const s of sites) {
    const row = page.locator(`[data-testid="site-row"][data-site-id="${s.id}"]`);
    await expect(row.getByTestId('site-name')).toHaveText(s.name);
    await expect(row.getByTestId('site-served-by')).toHaveAttribute('data-value', s.servedBy);
    await expect(row.getByTestId('site-node-count')).toHaveAttribute('data-value', String(s.nodeCount));
    await expect(row.getByTestId('site-label')).toHaveText(
      Object.entries(s.labels).map(([k, v]) => `${k}=${v}`),
    );
  }
  await expect(page.locator('[data-site-id="plant-b"]').getByTestId('site-served-by')).toContainText(
    'no LO registered',
  );

  const row = nodeRow(page, press.uid);
  await expect(row.locator('[data-field="name"]')).toHaveText(press.name);
  await expect(row.locator('[data-field="siteId"]')).toHaveText(press.siteId);
  await expect(row.getByTestId('node-state')).toHaveText(press.state);
  // Never heard from: unknown (grey), never online, and its age says so.
  await expect(row.getByTestId('presence')).toHaveAttribute('data-presence', 'unknown');
  await expect(row.getByTestId('presence')).toHaveText('unknown');
  await expect(row.getByTestId('last-seen')).toHaveText('never');
  await expect(row.locator('[data-field="modelId"]')).toHaveText('EdgeCircuit G12');
  await expect(row.getByTestId('label')).toHaveText(['line=3']);
  await expect(row.getByTestId('cordoned')).toHaveAttribute('data-value', 'false');
  await expect(row.getByTestId('capabilities')).toHaveText('not reported');
  await page.screenshot({ path: 'test-results/sites-nodes.png', fullPage: true });

  // Cordon from the row menu: the API reports it, and the row shows it.
  await row.locator('[data-field="actions"] button').first().click();
  await page.getByTestId('action-cordon').click();
  await expect.poll(async () => (await api.nodes.get({ name: 'press-01' })).cordoned).toBe(true);
  await expect(row.getByTestId('cordoned')).toHaveAttribute('data-value', 'true');

  // Labels edited in the dialog: one added, one removed.
  await row.locator('[data-field="actions"] button').first().click();
  await page.getByTestId('action-labels').click();
  const labels = page.getByTestId('labels-dialog');
  await labels.getByLabel('remove label').click();
  await labels.getByTestId('add-label').click();
  await labels.getByTestId('label-key').fill('zone');
  await labels.getByTestId('label-value').fill('north');
  await labels.getByTestId('save-labels').click();
  await expect(labels).toBeHidden();
  await expect
    .poll(async () => (await api.nodes.get({ name: 'press-01' })).labels)
    .toEqual({ zone: 'north' });
  await expect(row.getByTestId('label')).toHaveText(['zone=north']);

  // Uncordon again.
  await row.locator('[data-field="actions"] button').first().click();
  await page.getByTestId('action-uncordon').click();
  await expect.poll(async () => (await api.nodes.get({ name: 'press-01' })).cordoned).toBe(false);

  // Add site and Add node from the console; a bad id comes back as the server's error, and changes nothing.
  const refused = await api.sites.add({ id: 'Bad Id' }).then(
    () => null,
    (e: unknown) => e as OutpostError,
  );
  expect(refused?.code).toBe('invalid-input');
  await page.getByTestId('add-site').click();
  const siteDialog = page.getByTestId('add-site-dialog');
  await siteDialog.getByTestId('site-id').fill('Bad Id');
  await siteDialog.getByTestId('add-site-submit').click();
  await expect(siteDialog.getByTestId('error')).toHaveAttribute('data-code', refused!.code);
  await expect(siteDialog.getByTestId('field-error').first()).toHaveAttribute('data-field', 'id');
  expect((await api.sites.list({})).sites.map((s) => s.id)).toEqual(['plant-a', 'plant-b']);
  await siteDialog.getByTestId('site-id').fill('plant-c');
  await siteDialog.getByTestId('site-name-input').fill('Plant C');
  await siteDialog.getByTestId('site-labels').fill('region=us, tier=2');
  await siteDialog.getByTestId('add-site-submit').click();
  await expect(siteDialog).toBeHidden();
  await expect(page.locator('[data-site-id="plant-c"]').getByTestId('site-label')).toHaveText([
    'region=us',
    'tier=2',
  ]);
  expect((await api.sites.get({ id: 'plant-c' })).labels).toEqual({ region: 'us', tier: '2' });
  await page.getByTestId('add-node').click();
  const nodeDialog = page.getByTestId('add-node-dialog');
  await nodeDialog.getByTestId('node-name').fill('press-02');
  await nodeDialog.getByRole('combobox').first().click();
  await page.getByRole('option', { name: 'Plant C (plant-c)' }).click();
  await nodeDialog.getByTestId('add-node-submit').click();
  await expect(nodeDialog).toBeHidden();
  const added = await api.nodes.get({ name: 'press-02' });
  expect(added.siteId).toBe('plant-c');
  await expect(nodeRow(page, added.uid).getByTestId('presence')).toHaveAttribute('data-presence', 'unknown');
  await expect(page.locator('[data-site-id="plant-c"]').getByTestId('site-node-count')).toHaveAttribute(
    'data-value',
    '1',
  );

  // The site filter asks the server for one site's nodes.
  await page.getByTestId('site-filter').click();
  await page.getByRole('option', { name: 'Plant B' }).click();
  await expect(page.getByTestId('node-count')).toHaveText('0 nodes at plant-b');
  await expect(row).toHaveCount(0);
});

test.describe('a fleet of 2,000 nodes', () => {
  // Enough rows for many pages, virtual scrolling, a re-sort and filters; the 10,000-node numbers are
  // measured by bench/console-nodes.bench.ts.
  const TOTAL = 2_000;
  // What is asserted here is behaviour; on a loaded 2-core machine a re-sort can take a while.
  const fleetExpect = expect.configure({ timeout: 30_000 });
  const fleetHome = tempHome('outpost-e2e-fleet-');
  let fleetServer: ServerProcess;
  let fleetApi: ClientOf<Contract>;

  test.beforeAll(async () => {
    seedFleet(fleetHome.home, TOTAL);
    fleetServer = await startServer(fleetHome.home);
    fleetApi = createClient(
      contract,
      createHttpTransport({
        baseUrl: fleetServer.info.url,
        token: fleetServer.info.token,
        timeoutMs: 60_000,
      }),
    );
  });
  test.afterAll(async () => {
    await fleetServer?.stop();
    fleetHome.cleanup();
  });

  test('the nodes table pages, scrolls, sorts and filters 2,000 nodes; presence is what the server says', async ({
    page,
  }) => {
    test.setTimeout(120_000);
    const listed = await fleetApi.nodes.list({});
    expect(listed.nodes).toHaveLength(TOTAL);
    const presence = new Map(listed.nodes.map((n) => [n.uid, n.presence]));
    expect(new Set(presence.values())).toEqual(new Set(['online', 'stale', 'offline', 'unknown']));

    // Every page the console asks for: the server pages, sorts and filters (ADR 0390).
    const asked: NodesListInput[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/nodes.list')) asked.push(r.postDataJSON() as NodesListInput);
    });
    /** The console's last question, asked again of the API: the grid must show exactly its answer. */
    const lastAsked = () => asked.at(-1)!;
    const rows = page.locator('.MuiDataGrid-row');
    const shownIds = () => rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!));
    /** Rendered rows (virtualised: those in view) as [row index within the page, uid]. */
    const shownAt = () =>
      rows.evaluateAll((els) =>
        els.map((e) => [Number(e.getAttribute('data-rowindex')), e.getAttribute('data-id')!] as const),
      );
    const showsAnswerTo = async (q: NodesListInput) => {
      const answer = await fleetApi.nodes.list(q);
      const ids = answer.nodes.map((n) => n.uid);
      await fleetExpect
        .poll(async () => {
          const at = await shownAt();
          return at.length > 0 && at.every(([i, id]) => ids[i] === id);
        })
        .toBe(true);
      return answer;
    };

    await page.goto(`${fleetServer.info.url}/#token=${fleetServer.info.token}`);
    await expect.poll(() => page.url()).not.toContain('token=');
    await page.evaluate(`location.hash = '/sites'`);
    await fleetExpect(page.getByTestId('node-count')).toHaveText(`${TOTAL} nodes`);
    const shown = page.locator('.MuiTablePagination-displayedRows');
    await fleetExpect(shown).toHaveText(/^1–100 of 2,?000$/);
    // One page of lean rows, never the fleet: no capabilities documents.
    expect(lastAsked()).toEqual({
      sort: { field: 'name', direction: 'asc' },
      limit: 100,
      offset: 0,
      capabilities: false,
    });

    // Virtualised: only the rows in view are in the page.
    const rendered = await rows.count();
    expect(rendered).toBeGreaterThan(0);
    expect(rendered).toBeLessThan(100);
    // Every rendered presence chip says what the server said; never green otherwise.
    const checkPresence = async () => {
      const ids = await shownIds();
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) {
        await fleetExpect(
          page.locator(`.MuiDataGrid-row[data-id="${id}"]`).getByTestId('presence'),
        ).toHaveAttribute('data-presence', presence.get(id)!);
      }
    };
    await checkPresence();
    const first = nodeRow(page, 'default.bulk-00000');
    await fleetExpect(first.getByTestId('presence')).toHaveAttribute('data-presence', 'online');
    await fleetExpect(first.getByTestId('capabilities')).toHaveText('arm64 · 4 cpus · 8Gi');
    const never = nodeRow(page, 'default.bulk-00003');
    await fleetExpect(never.getByTestId('presence')).toHaveAttribute('data-presence', 'unknown');
    await fleetExpect(never.getByTestId('last-seen')).toHaveText('never');

    // Scrolling brings in the rest of the page.
    await page.locator('.MuiDataGrid-virtualScroller').evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await fleetExpect(page.locator('.MuiDataGrid-row[data-rowindex="99"]')).toContainText('bulk-00099');
    await checkPresence();
    await page.getByRole('button', { name: 'Go to next page' }).click();
    await fleetExpect(shown).toHaveText(/^101–200 of 2,?000$/);
    await fleetExpect.poll(() => lastAsked().offset).toBe(100);
    await showsAnswerTo(lastAsked());
    await fleetExpect(page.locator('.MuiDataGrid-row[data-rowindex="0"]')).toContainText('bulk-00100');

    // Sorting by presence is the server's order: online nodes first, back on the first page.
    await page.getByRole('columnheader', { name: 'Presence · last seen' }).click();
    await fleetExpect(shown).toHaveText(/^1–100 of 2,?000$/);
    await fleetExpect.poll(() => lastAsked().sort).toEqual({ field: 'presence', direction: 'asc' });
    expect(lastAsked().offset).toBe(0);
    const byPresence = await showsAnswerTo(lastAsked());
    expect(byPresence.nodes.every((n) => n.presence === 'online')).toBe(true);
    await fleetExpect(rows.first().getByTestId('presence')).toHaveAttribute('data-presence', 'online');
    await checkPresence();
    // Descending: the never-seen come first.
    await page.getByRole('columnheader', { name: 'Presence · last seen' }).click();
    await fleetExpect.poll(() => lastAsked().sort).toEqual({ field: 'presence', direction: 'desc' });
    await showsAnswerTo(lastAsked());
    await fleetExpect(rows.first().getByTestId('presence')).toHaveAttribute('data-presence', 'unknown');

    // Filters: a search text (rack r7 is every twentieth node), then a site, then a presence state.
    await page.getByTestId('label-filter').fill('rack=r7');
    await fleetExpect(page.getByTestId('node-count')).toHaveText(`${TOTAL / 20} nodes matching "rack=r7"`);
    expect(lastAsked()).toMatchObject({ search: 'rack=r7', limit: 100, offset: 0 });
    await fleetExpect(shown).toHaveText(`1–${TOTAL / 20} of ${TOTAL / 20}`);
    await showsAnswerTo(lastAsked());
    await page.getByTestId('site-filter').click();
    await page.getByRole('option', { name: 'plant-b' }).click();
    const atB = listed.nodes.filter((n) => n.siteId === 'plant-b' && n.labels.rack === 'r7');
    await fleetExpect(page.getByTestId('node-count')).toHaveText(
      `${atB.length} nodes at plant-b matching "rack=r7"`,
    );
    expect(lastAsked()).toMatchObject({ siteId: 'plant-b', search: 'rack=r7' });
    await showsAnswerTo(lastAsked());
    await checkPresence();
    // Rack r7 nodes were never seen; the stale ones at plant-b, by the server's clock and thresholds.
    await page.getByTestId('label-filter').fill('');
    await page.getByTestId('presence-filter').click();
    await page.getByRole('option', { name: 'stale' }).click();
    const staleAtB = listed.nodes.filter((n) => n.siteId === 'plant-b' && n.presence === 'stale');
    expect(staleAtB.length).toBeGreaterThan(100);
    await fleetExpect(page.getByTestId('node-count')).toHaveText(`${staleAtB.length} nodes at plant-b stale`);
    await fleetExpect(shown).toHaveText(`1–100 of ${staleAtB.length}`);
    expect(lastAsked()).toEqual({
      siteId: 'plant-b',
      presence: ['stale'],
      sort: { field: 'presence', direction: 'desc' },
      limit: 100,
      offset: 0,
      capabilities: false,
    });
    const answer = await showsAnswerTo(lastAsked());
    expect(answer.total).toBe(staleAtB.length);
    expect(answer.nodes.every((n) => n.presence === 'stale')).toBe(true);
    await checkPresence();
    for (const r of await rows.all())
      await fleetExpect(r.getByTestId('presence')).toHaveAttribute('data-presence', 'stale');
    await page.screenshot({ path: 'test-results/sites-nodes-2000.png', fullPage: true });
  });
});
