import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log/index.js';
import { keySigner, readSecretKeyFile, writeBundle } from '../../lib/bundle/index.js';
import { splitTar, tarEntry } from '../../lib/bundle/test-helpers.js';
import type { BundleJob } from '../../lib/contract/index.js';
import { openDeploymentsRepo } from '../gitops/deployments-repo.js';
import { startTestCore } from '../../test/helpers/core.js';
import { packRange } from './git-range.js';
import { GitPackMediaType, Role, type HqMeta } from './meta.js';
import { auditOf, siteState, startPair, waitJob, type Pair } from './testing/pair.js';

/**
 * The tamper matrix at the control-plane level (issue 13): a real HQ bundle for a real site, changed in
 * every way the issue names, imported through the contract. Each is refused with its reason in one line,
 * an audit entry records it, and nothing changed: the site's database (every table but the append-only
 * audit log), its desired-state mirror and its site registry are byte for byte as before, and no
 * staging folder is left.
 */
describe('tamper matrix (control plane)', () => {
  let pair: Pair;
  let good: BundleJob;
  let original: Buffer;
  let before: ReturnType<typeof siteState>;
  const refusals = { n: 0 };

  const tampered = (name: string, bytes: Buffer) => {
    const file = path.join(pair.drive, name);
    fs.writeFileSync(file, bytes);
    return file;
  };
  /** Imports a file through the contract; returns the refusal's code (or 'accepted'). */
  const importFile = async (file: string): Promise<string> => {
    const s = pair.site.core.client();
    const j = await waitJob(s, await s.bundle.import({ file }));
    if (j.state === 'succeeded') return 'accepted';
    expect(j.error!.message).not.toContain('\n');
    refusals.n++;
    return j.error!.code;
  };
  const refused = async (file: string, code: string | RegExp) => {
    const got = await importFile(file);
    if (typeof code === 'string') expect(got).toBe(code);
    else expect(got).toMatch(code);
    expect(siteState(pair.site)).toEqual(before);
  };

  beforeAll(async () => {
    pair = await startPair();
    const h = pair.hq.core.client();
    good = await waitJob(h, await h.bundle.export({ siteId: 'plant-1', out: pair.drive }));
    expect(good.error).toBeNull();
    original = fs.readFileSync(good.result!.file!);
    before = siteState(pair.site);
  }, 120_000);
  afterAll(async () => {
    await pair?.stop();
  });

  it('the untouched bundle verifies (so the matrix can pass only by refusing), and verifying changes nothing', async () => {
    const s = pair.site.core.client();
    const v = await waitJob(s, await s.bundle.verify({ file: good.result!.file! }));
    expect(v.error).toBeNull();
    expect(v.result?.report?.changes.git?.commits).toBe(1);
    expect(v.result?.report?.changes.artifacts.new).toBe(1);
    expect(siteState(pair.site)).toEqual(before);
  });

  it('refuses one flipped byte at each of 1,000 random offsets', async () => {
    let seed = 0x1ced;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const offsets = new Set<number>();
    while (offsets.size < 1000) offsets.add(rand() % original.length);
    const codes = new Map<string, number>();
    const copy = Buffer.from(original);
    const file = path.join(pair.drive, 'flipped.outpost.tar');
    let n = 0;
    const auditBefore = auditOf(pair.site.core.store.sqlite, 'bundle.import.done').length;
    for (const at of offsets) {
      const flip = (rand() % 255) + 1;
      copy[at] = copy[at]! ^ flip;
      fs.writeFileSync(file, copy);
      const code = await importFile(file);
      expect(code, `flipping byte ${at} by ${flip}`).toMatch(/^bundle\//);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      copy[at] = original[at]!;
      if (++n % 250 === 0) expect(siteState(pair.site)).toEqual(before);
    }
    expect(siteState(pair.site)).toEqual(before);
    expect(codes.get('bundle/bad-signature')).toBeGreaterThan(0);
    expect(codes.get('bundle/digest-mismatch')).toBeGreaterThan(0);
    // Every refusal is in the audit log with its code.
    const audit = auditOf(pair.site.core.store.sqlite, 'bundle.import.done').slice(auditBefore);
    expect(audit).toHaveLength(offsets.size);
    expect(audit.every((a) => a.result === 'error' && a.errorCode?.startsWith('bundle/'))).toBe(true);
  }, 600_000);

  it('refuses a truncated file (a drive pulled mid-copy)', async () => {
    for (const cut of [
      0,
      100,
      512,
      Math.floor(original.length / 2),
      original.length - 1024,
      original.length - 1,
    ])
      await refused(
        tampered('cut.outpost.tar', original.subarray(0, cut)),
        /^bundle\/(truncated|missing-entry|corrupt)$/,
      );
  });

  it('refuses reordered entries, an added entry and a removed entry', async () => {
    const { entries, end } = splitTar(original);
    const seg = (i: number) => original.subarray(entries[i]!.start, entries[i]!.end);
    const blobs = entries.length - 6;
    expect(blobs).toBeGreaterThanOrEqual(3);
    const last = entries.length - 1;
    const swapped = Buffer.concat([
      original.subarray(0, entries[last - 1]!.start),
      seg(last),
      seg(last - 1),
      original.subarray(end),
    ]);
    await refused(tampered('reordered.outpost.tar', swapped), 'bundle/out-of-order');
    const added = Buffer.concat([
      original.subarray(0, end),
      tarEntry('blobs/sha256/' + 'e'.repeat(64), Buffer.from('extra')),
      original.subarray(end),
    ]);
    await refused(tampered('added.outpost.tar', added), 'bundle/unexpected-entry');
    const removed = Buffer.concat([original.subarray(0, entries[last]!.start), original.subarray(end)]);
    await refused(tampered('removed.outpost.tar', removed), 'bundle/missing-entry');
  });

  it("refuses another site's bundle", async () => {
    const h = pair.hq.core.client();
    const other = await waitJob(h, await h.bundle.export({ siteId: 'plant-2', out: pair.drive }));
    expect(other.error).toBeNull();
    await refused(other.result!.file!, 'bundle/wrong-site');
  });

  it('refuses an expired bundle', async () => {
    const h = pair.hq.core.client();
    pair.hqClock.shift(-31 * 24 * 3600_000);
    try {
      const old = await waitJob(h, await h.bundle.export({ siteId: 'plant-1', out: pair.drive }));
      expect(old.error).toBeNull();
      await refused(old.result!.file!, 'bundle/expired');
    } finally {
      pair.hqClock.shift(0);
    }
  });

  it('refuses a bundle signed by a key it never trusted', async () => {
    const rogue = await startTestCore({ overrides: { role: 'co', airgap: { drives: { enabled: false } } } });
    try {
      const r = rogue.core.client();
      await r.sites.add({ id: 'plant-1', airGapped: true });
      const dir = path.join(pair.drive, 'rogue');
      fs.mkdirSync(dir);
      const j = await waitJob(r, await r.bundle.export({ siteId: 'plant-1', out: dir }));
      expect(j.error).toBeNull();
      await refused(j.result!.file!, 'bundle/unknown-signer');
    } finally {
      await rogue.stop();
    }
  });

  it('refuses a bundle signed by a key it removed', async () => {
    const s = pair.site.core.client();
    const hqKey = (await s.bundle.trustList({})).keys.find((k) => k.name === 'hq')!;
    const removed = await s.bundle.trustRemove({ keyId: hqKey.keyId });
    expect(removed.removedAt).not.toBeNull();
    before = siteState(pair.site);
    await refused(good.result!.file!, 'bundle/removed-signer');
    const pub = (await pair.hq.core.client().bundle.exportKey({})).publicKey;
    await s.bundle.trustAdd({ publicKey: pub, name: 'hq' });
    before = siteState(pair.site);
  });

  it('imports the untouched bundle, then refuses it again as a replay, and an older one', async () => {
    const h = pair.hq.core.client();
    const b2 = await waitJob(h, await h.bundle.export({ siteId: 'plant-1', out: pair.drive }));
    const b3 = await waitJob(h, await h.bundle.export({ siteId: 'plant-1', out: pair.drive }));
    expect(await importFile(b3.result!.file!)).toBe('accepted');
    expect(siteState(pair.site)).not.toEqual(before);
    before = siteState(pair.site);
    await refused(b3.result!.file!, 'bundle/replay');
    await refused(b2.result!.file!, 'bundle/replay');
    await refused(good.result!.file!, 'bundle/replay');
  });

  it('refuses a desired state that is not a fast-forward (rollback), and one built on a commit the site lacks', async () => {
    // HQ's own key signs a bundle whose git range leads elsewhere: a history the site never followed.
    const hqKeyId = (await pair.hq.core.client().bundle.exportKey({})).keyId;
    const signer = keySigner(readSecretKeyFile(path.join(pair.hq.home, 'keys', 'bundle', `${hqKeyId}.key`)));
    const work = path.join(pair.drive, 'other-history');
    const repo = await openDeploymentsRepo(work, silentLogger());
    const c = await repo.commitTree(
      new Map([['sites/plant-1/nodes/edge-1/x.yaml', Buffer.from('other\n')]]),
      'another history',
      { name: 'x', email: 'x@x', timestamp: Date.now() },
    );
    const range = (await packRange(work, 'refs/heads/main', null, path.join(work, 'pack')))!;
    const c2 = await repo.commitTree(
      new Map([['sites/plant-1/nodes/edge-1/x.yaml', Buffer.from('other, later\n')]]),
      'another history, later',
      { name: 'x', email: 'x@x', timestamp: Date.now() },
    );
    const range2 = (await packRange(work, 'refs/heads/main', c.commit, path.join(work, 'pack2')))!;
    expect(range2.to).toBe(c2.commit);
    const meta: HqMeta = {
      type: 'outpost.hq-bundle',
      tenant: 'default',
      full: true,
      artifacts: [],
      apps: [],
      skipped: [],
      carried: {},
    };
    const craft = async (seq: number, from: string | null, r: typeof range) => {
      const w = await writeBundle({
        file: path.join(pair.drive, `crafted-${seq}.outpost.tar`),
        header: {
          kind: 'hq-to-site',
          source: 'hq',
          target: 'plant-1',
          sequence: seq,
          expires: new Date(Date.now() + 86_400_000),
          git: { ref: 'refs/heads/main', from, to: r.to },
          meta: meta as unknown as Record<string, unknown>,
        },
        blobs: [{ role: Role.gitPack, mediaType: GitPackMediaType, source: { file: r.packFile! } }],
        signer,
      });
      return w.file;
    };
    await refused(await craft(1000, null, range), 'bundle/rollback');
    await refused(await craft(1001, c.commit, range2), 'bundle/missing-base');
  });

  it('every refusal above is in the audit log, and nothing was left in staging', () => {
    const audit = auditOf(pair.site.core.store.sqlite, 'bundle.import.done');
    expect(audit.filter((a) => a.result === 'error')).toHaveLength(refusals.n);
    expect(fs.readdirSync(path.join(pair.site.home, 'bundles', 'staging'))).toEqual([]);
  });
});
