import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../lib/base/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { startTestCore } from '../../test/helpers/core.js';
import { createDriveWatcher, removableMounts } from './drives.js';
import { waitJob } from './testing/pair.js';

/**
 * The drive watcher: which mounted file systems are removable drives (lsblk's JSON, partitions inheriting
 * their disk's removable and USB flags), what bundles they hold and for whom, and that a bundle for this
 * server is offered, never imported by itself. A script stands in for lsblk, a folder for the drive
 * (no USB stick here) and a file for the mount table (which a real mount changes); everything else is
 * real: the servers, the files, the bundles.
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
  const mountTable = path.join(root, 'mountinfo');
  let hq: Awaited<ReturnType<typeof startTestCore>>;
  let site: Awaited<ReturnType<typeof startTestCore>>;
  // As a real mount does, plugging changes both what lsblk answers and the mount table.
  const plug = (mounts: { dir: string; label: string }[]) => {
    fs.writeFileSync(answer, lsblkJson(mounts));
    fs.writeFileSync(mountTable, mounts.map((m) => `${m.dir} ${m.label}\n`).join(''));
  };

  beforeAll(async () => {
    fs.mkdirSync(stick, { recursive: true });
    fs.writeFileSync(script, `#!/bin/sh\ncat '${answer}'\n`, { mode: 0o755 });
    plug([]);
    const drives = { enabled: true, intervalSeconds: 0.2, lsblk: script, mountTable };
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

describe('when the drive watcher runs lsblk', () => {
  it('only when the mount table changed, a minute passed, or it is asked to look now; a file copied to a mounted drive shows without it', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-drive-ticks-'));
    try {
      const stick = path.join(root, 'stick');
      fs.mkdirSync(stick);
      const answer = path.join(root, 'lsblk.json');
      const runs = path.join(root, 'runs');
      const table = path.join(root, 'mountinfo');
      const lsblk = path.join(root, 'lsblk');
      fs.writeFileSync(lsblk, `#!/bin/sh\necho run >> '${runs}'\ncat '${answer}'\n`, { mode: 0o755 });
      const lsblkRuns = () =>
        fs.existsSync(runs) ? fs.readFileSync(runs, 'utf8').split('\n').length - 1 : 0;
      fs.writeFileSync(answer, lsblkJson([]));
      fs.writeFileSync(table, 'root\n');
      const clock = manualClock();
      let changes = 0;
      const w = createDriveWatcher({
        lsblk,
        intervalMs: 2000,
        mountTable: table,
        rescanMs: 60_000,
        enabled: true,
        clock,
        logger: silentLogger(),
        classify: () => ({ forHere: false, imported: false }),
        onChange: () => changes++,
      });
      expect((await w.scan()).drives).toEqual([]);
      expect(lsblkRuns()).toBe(1);
      // Nothing mounted or unmounted: ticks read the table, not lsblk.
      for (let i = 0; i < 5; i++) {
        clock.advance(2000);
        await w.tick();
      }
      expect(lsblkRuns()).toBe(1);
      // A drive is mounted: the table changes, the next tick runs lsblk and sees it.
      fs.writeFileSync(answer, lsblkJson([{ dir: stick, label: 'STICK' }]));
      fs.writeFileSync(table, `root\n${stick}\n`);
      clock.advance(2000);
      const mounted = await w.tick();
      expect(lsblkRuns()).toBe(2);
      expect(mounted.drives.map((d) => [d.mountpoint, d.bundles.length])).toEqual([[stick, 0]]);
      const changesBefore = changes;
      // A bundle file copied onto the mounted drive shows at the next tick, without lsblk.
      fs.writeFileSync(path.join(stick, 'x.outpost.tar'), 'not a bundle');
      clock.advance(2000);
      const copied = await w.tick();
      expect(copied.drives[0]!.bundles.map((b) => b.name)).toEqual(['x.outpost.tar']);
      expect(changes).toBe(changesBefore + 1);
      expect(lsblkRuns()).toBe(2);
      // A minute without a change in the table: lsblk runs once more regardless.
      clock.advance(60_000);
      await w.tick();
      expect(lsblkRuns()).toBe(3);
      await w.tick();
      expect(lsblkRuns()).toBe(3);
      // Asked to look now, it runs lsblk whatever the table says.
      await w.scan();
      expect(lsblkRuns()).toBe(4);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a missing lsblk is reported once and not spawned again until the mount table changes', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-drive-ticks-'));
    try {
      const table = path.join(root, 'mountinfo');
      fs.writeFileSync(table, 'root\n');
      const clock = manualClock();
      const w = createDriveWatcher({
        lsblk: path.join(root, 'no-such-lsblk'),
        intervalMs: 2000,
        mountTable: table,
        enabled: true,
        clock,
        logger: silentLogger(),
        classify: () => ({ forHere: false, imported: false }),
        onChange: () => {},
      });
      expect(await w.scan()).toMatchObject({
        watching: false,
        error: expect.stringMatching(/not installed/),
      });
      // It is installed now, but the table did not change: the answer stands until the next rescan.
      const lsblk = path.join(root, 'no-such-lsblk');
      fs.writeFileSync(lsblk, `#!/bin/sh\necho '{"blockdevices":[]}'\n`, { mode: 0o755 });
      clock.advance(2000);
      expect(await w.tick()).toMatchObject({ watching: false });
      fs.writeFileSync(table, 'root\nother\n');
      clock.advance(2000);
      expect(await w.tick()).toMatchObject({ watching: true, error: null, drives: [] });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
