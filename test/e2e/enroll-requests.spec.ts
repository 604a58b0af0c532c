import { test, expect } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EDGECTL, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';

/**
 * Enrollment by approval in the console (ADR 0462): a node files a request (`edgectl agent enroll --lo URL
 * --request`, a real process); the request appears in Sites & Nodes without a reload, with the same code
 * the node prints; the operator approves it there and the waiting node enrolls.
 */
let server: ServerProcess;
let home: ReturnType<typeof tempHome>;
let scratch: string;
let agent: ChildProcess | undefined;

test.beforeAll(async () => {
  home = tempHome('outpost-e2e-ereq-');
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-e2e-ereq-agent-'));
  server = await startServer(home.home);
});
test.afterAll(async () => {
  if (agent && agent.exitCode === null) agent.kill('SIGKILL');
  await server?.stop();
  home.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('a pending request appears live in Sites & Nodes and is approved there', async ({ page, request }) => {
  const rpc = (method: string, data: unknown) =>
    request.post(`${server.info.url}/api/v1/rpc/${method}`, {
      headers: { authorization: `Bearer ${server.info.token}` },
      data,
    });
  expect((await rpc('sites.add', { id: 'plant-e', name: 'Plant E' })).ok()).toBe(true);

  await page.goto(`${server.info.url}/#token=${server.info.token}`);
  await expect(page.getByTestId('live-indicator')).toHaveText('live');
  await page.getByRole('navigation').getByText('Sites & Nodes', { exact: true }).click();
  await expect(page.getByTestId('no-requests')).toBeVisible();

  // The node asks.
  let err = '';
  let exited: number | null = null;
  agent = spawn(
    process.execPath,
    [
      EDGECTL,
      'agent',
      'enroll',
      '--home',
      path.join(scratch, 'node'),
      '--lo',
      server.info.mmiUrl!,
      '--request',
      '--name',
      'box-e',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  agent.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let out = '';
  agent.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  agent.on('exit', (c) => (exited = c));
  await expect
    .poll(() => /code (\d{3} \d{3}), key ([0-9A-F-]+)/.exec(err)?.[1] ?? null, { timeout: 30_000 })
    .not.toBeNull();
  const [, code, key] = /code (\d{3} \d{3}), key ([0-9A-F-]+)/.exec(err)!;

  // It appears without a reload, with what the node printed.
  const row = page.getByTestId('enroll-request');
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('request-code')).toHaveText(code!);
  await expect(row.getByTestId('request-fingerprint')).toHaveText(key!);
  await page.screenshot({ path: 'test-results/enroll-request-pending.png', fullPage: true });

  await row.getByTestId('approve-request').click();
  const dialog = page.getByTestId('approve-dialog');
  await expect(dialog.getByTestId('approve-code')).toHaveText(code!);
  await expect(dialog.getByTestId('approve-name')).toHaveValue('box-e');
  await dialog.getByTestId('approve-confirm').click();
  await expect(dialog).toBeHidden();
  await expect(page.getByTestId('no-requests')).toBeVisible();

  // The waiting node gets its SVID and says so.
  await expect.poll(() => exited, { timeout: 30_000 }).toBe(0);
  expect(out).toMatch(
    /^enrolled box-e \(spiffe:\/\/outpost\.local\/margo\/wfm\/outpost\/client\/default\.box-e\)/,
  );
  await expect(page.getByRole('gridcell', { name: 'box-e', exact: true })).toBeVisible();
  const node = (await (await rpc('nodes.get', { name: 'box-e' })).json()) as {
    state: string;
    siteId: string;
  };
  expect(node).toMatchObject({ state: 'enrolled', siteId: 'plant-e' });
});
