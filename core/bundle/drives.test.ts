import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore } from '../../test/helpers/core.js';
import { removableMounts } from './drives.js';
import { waitJob } from './testing/pair.js';

/**
 * The drive watcher: which mounted file systems are removable drives (lsblk's JSON, partitions inheriting
 * their disk's removable and USB flags), what bundles they hold and for whom, and that a bundle for this
 * server is offered, never imported by itself. A script stands in for lsblk and a folder for the drive
 * (no USB stick here); everything else is real: the servers, the files, the bundles.
 */
const lsblkJson = (mounts: { dir: string; label: string }[]) =>
  JSON.stringify({
    blockdevices: [
      {
        path: '/dev/vda',
        rm: false,
        hotplug: false,
        tran: null,
        type: 'disk',
        mountpoint: '/',
        label: null,
        size: 1e11,
        model: null,
        vendor: null,
      },
      ...mounts.map((m, i) => ({
        path: `/dev/sd${'bcd'[i]}`,
        rm: true,
        hotplug: true,
        tran: 'usb',
        type: 'disk',
        mountpoint: null,
        label: null,
        size: 32e9,
        model: 'Cruzer Blade',
        vendor: 'SanDisk',
        children: [
          {
            path: `/dev/sd${'bcd'[i]}1`,
            rm: false,
            hotplug: false,
            tran: null,
            type: 'part',
            mountpoint: m.dir,
            label: m.label,
            size: 32e9,
            model: null,
            vendor: null,
          },
        ],
      })),
    ],
  });

describe('removable drives', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-drives-'));
  const stick = path.join(root, 'media', 'OUTPOST');
  const script = path.join(root, 'lsblk');
  const answer = path.join(root, 'lsblk.json');
  let hq: Awaited<ReturnType<typeof startTestCore>>;
  let site: Awaited<ReturnType<typeof startTestCore>>;
  const plug = (mounts: { dir: string; label: string }[]) => fs.writeFileSync(answer, lsblkJson(mounts));

  beforeAll(async () => {
    fs.mkdirSync(stick, { recursive: true });
    fs.writeFileSync(script, `#!/bin/sh\ncat '${answer}'\n`, { mode: 0o755 });
    plug([]);
    const drives = { enabled: true, intervalSeconds: 0.2, lsblk: script };
    hq = await startTestCore({ overrides: { role: 'co', airgap: { drives } } });
    site = await startTestCore({
      overrides: { role: 'lo', site: { id: 'plant-1', name: 'P1' }, airgap: { drives } },
    });
    await site.core
      .client()
      .bundle.trustAdd({ publicKey: (await hq.core.client().bundle.exportKey({})).publicKey });
    await hq.core.client().sites.add({ id: 'plant-1', airGapped: true });
  }, 60_000);
  afterAll(async () => {
    await site?.stop();
    await hq?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("reads lsblk's tree: mounted partitions of removable or USB disks only", () => {
    const mounts = removableMounts(lsblkJson([{ dir: '/media/a', label: 'A' }]));
    expect(mounts).toEqual([
      {
        device: '/dev/sdb1',
        label: 'A',
        model: 'Cruzer Blade',
        vendor: 'SanDisk',
        transport: 'usb',
        size: 32e9,
        mountpoint: '/media/a',
      },
    ]);
    expect(removableMounts('{"blockdevices":[]}')).toEqual([]);
  });

  it('--drive auto refuses when no drive or two are mounted, and writes to the one mounted', async () => {
    const h = hq.core.client();
    await expect(h.bundle.export({ siteId: 'plant-1', drive: 'auto' })).rejects.toMatchObject({
      code: 'bundle/no-drive',
    });
    const other = path.join(root, 'media', 'OTHER');
    fs.mkdirSync(other);
    plug([
      { dir: stick, label: 'OUTPOST' },
      { dir: other, label: 'OTHER' },
    ]);
    await expect.poll(async () => (await h.bundle.drives({})).drives.length, { timeout: 20_000 }).toBe(2);
    await expect(h.bundle.export({ siteId: 'plant-1', drive: 'auto' })).rejects.toMatchObject({
      code: 'bundle/no-drive',
    });
    plug([{ dir: stick, label: 'OUTPOST' }]);
    await expect.poll(async () => (await h.bundle.drives({})).drives.length, { timeout: 20_000 }).toBe(1);
    const j = await waitJob(h, await h.bundle.export({ siteId: 'plant-1', drive: 'auto' }));
    expect(j.error).toBeNull();
    expect(j.result!.file).toBe(path.join(stick, 'hq-to-plant-1-1.outpost.tar'));
  });

  it('the site sees the bundle for it on the drive and offers it, but imports nothing by itself', async () => {
    const s = site.core.client();
    await expect
      .poll(async () => (await s.bundle.drives({})).drives[0]?.bundles[0], { timeout: 20_000 })
      .toMatchObject({
        name: 'hq-to-plant-1-1.outpost.tar',
        kind: 'hq-to-site',
        target: 'plant-1',
        sequence: 1,
        forHere: true,
        imported: false,
      });
    const d = (await s.bundle.drives({})).drives[0]!;
    expect(d).toMatchObject({ label: 'OUTPOST', vendor: 'SanDisk', model: 'Cruzer Blade', transport: 'usb' });
    // Several scans later nothing was imported.
    const scanned = (await s.bundle.drives({})).scannedAt!;
    await expect
      .poll(async () => (await s.bundle.drives({})).scannedAt!, { timeout: 20_000 })
      .toBeGreaterThan(scanned);
    expect((await s.bundle.streams({})).streams).toEqual([]);
    // The operator imports it; the drive then shows it as imported.
    const imp = await waitJob(s, await s.bundle.import({ file: d.bundles[0]!.file }));
    expect(imp.error).toBeNull();
    await expect
      .poll(async () => (await s.bundle.drives({})).drives[0]?.bundles[0], { timeout: 20_000 })
      .toMatchObject({ forHere: false, imported: true });
    // HQ sees its own bundle on the drive, not addressed to it.
    expect((await hq.core.client().bundle.drives({})).drives[0]?.bundles[0]).toMatchObject({
      forHere: false,
    });
  });

  it('a file that is not a bundle is listed with its reason; a pulled drive disappears', async () => {
    fs.writeFileSync(path.join(stick, 'junk.outpost.tar'), 'not a tar file at all');
    const s = site.core.client();
    await expect
      .poll(
        async () =>
          (await s.bundle.drives({})).drives[0]?.bundles.find((b) => b.name === 'junk.outpost.tar')?.error,
        {
          timeout: 20_000,
        },
      )
      .toMatch(/truncated|not/);
    plug([]);
    await expect.poll(async () => (await s.bundle.drives({})).drives, { timeout: 20_000 }).toEqual([]);
  });

  it('says so when lsblk is missing', async () => {
    const t = await startTestCore({
      overrides: {
        role: 'co',
        airgap: { drives: { enabled: true, intervalSeconds: 1, lsblk: path.join(root, 'no-such-lsblk') } },
      },
    });
    try {
      await expect
        .poll(async () => (await t.core.client().bundle.drives({})).error, { timeout: 20_000 })
        .toMatch(/not installed/);
      const d = await t.core.client().bundle.drives({});
      expect(d.watching).toBe(false);
      expect(d.error).toMatch(/not installed/);
    } finally {
      await t.stop();
    }
  });
});
