import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPair, waitJob, type Pair } from './testing/pair.js';

/**
 * Key rotation across the gap (ADR 0402, 0405): HQ rotates its key; the next bundle is signed by the new
 * key and carries the statement; the site, which pinned only the old key, follows it and pins the new
 * key with the old one's scope; once the site has acknowledged a bundle signed by the new key, HQ's
 * bundles stop carrying the statement, and the old key can be removed at the site.
 */
describe('signing key rotation carried in bundles', () => {
  let pair: Pair;
  beforeAll(async () => {
    pair = await startPair();
  }, 120_000);
  afterAll(async () => {
    await pair?.stop();
  });

  const roundTrip = async () => {
    const h = pair.hq.core.client();
    const s = pair.site.core.client();
    const out = await waitJob(h, await h.bundle.export({ siteId: 'plant-1', out: pair.drive }));
    expect(out.error).toBeNull();
    const imp = await waitJob(s, await s.bundle.import({ file: out.result!.file! }));
    expect(imp.error).toBeNull();
    const st = await waitJob(s, await s.bundle.exportStatus({ out: pair.drive }));
    expect((await waitJob(h, await h.bundle.import({ file: st.result!.file! }))).error).toBeNull();
    return imp.result!.report!;
  };

  it('the site follows a rotation it finds in the next bundle, and the statement stops once acknowledged', async () => {
    const h = pair.hq.core.client();
    const s = pair.site.core.client();
    const first = await roundTrip();
    expect(first.signer.rotated).toEqual([]);
    const old = first.signer.keyId;

    const r = await h.bundle.rotateKey({});
    expect(r.previous.keyId).toBe(old);
    expect(r.previous.retiredAt).not.toBeNull();
    expect(r.current.previousKeyId).toBe(old);
    // The old secret key stays in its file; the new one is beside it, mode 0600.
    const dir = path.join(pair.hq.home, 'keys', 'bundle');
    expect(fs.statSync(path.join(dir, `${r.current.keyId}.key`)).mode & 0o777).toBe(0o600);

    const second = await roundTrip();
    expect(second.signer.keyId).toBe(r.current.keyId);
    expect(second.signer.rotated).toEqual([r.current.keyId]);
    expect(second.changes.newKeys).toEqual([r.current.keyId]);
    const trusted = (await s.bundle.trustList({})).keys;
    expect(trusted.find((k) => k.keyId === r.current.keyId)).toMatchObject({
      origin: 'rotation',
      rotatedFrom: old,
      name: 'hq (rotated)',
      siteId: null,
    });

    // Acknowledged: the next bundle carries no statement, and the old key can go.
    await s.bundle.trustRemove({ keyId: old });
    const third = await roundTrip();
    expect(third.signer.keyId).toBe(r.current.keyId);
    expect(third.signer.rotated).toEqual([]);
  });

  it("HQ follows a site key's rotation within that site's scope", async () => {
    const h = pair.hq.core.client();
    const s = pair.site.core.client();
    const r = await s.bundle.rotateKey({});
    const st = await waitJob(s, await s.bundle.exportStatus({ out: pair.drive }));
    const imp = await waitJob(h, await h.bundle.import({ file: st.result!.file! }));
    expect(imp.error).toBeNull();
    expect(imp.result!.report!.signer.rotated).toEqual([r.current.keyId]);
    expect((await h.bundle.trustList({})).keys.find((k) => k.keyId === r.current.keyId)).toMatchObject({
      origin: 'rotation',
      siteId: 'plant-1',
    });
  });
});
