import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BUNDLE_REF_NAME,
  createRotation,
  formatPublicKey,
  generateKeyPair,
  keySigner,
  peekBundle,
  stageBundle,
  verifyBundle,
  writeBundle,
  type Trust,
} from './index.js';
import {
  DAY,
  T0,
  chunked,
  clockAt,
  defaultBlobs,
  defaultHeader,
  expectCode,
  makeBundle,
  minisignSigner,
  pseudoRandomBytes,
  tempDir,
} from './test-helpers.js';

const trustOf = (...keys: { keyId: string; key: Buffer }[]): Trust => ({
  keys: keys.map((k) => ({ publicKey: { keyId: k.keyId, key: k.key } })),
});

describe('bundle round trip', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('bundle')));
  afterEach(() => cleanup());

  it('writes a bundle that the reader verifies and stages, byte for byte', async () => {
    const progress: number[] = [];
    const key = generateKeyPair();
    const wasm = pseudoRandomBytes(250_000, 3);
    fs.writeFileSync(path.join(dir, 'module.wasm'), wasm);
    const written = await writeBundle({
      file: path.join(dir, 'out', 'b.outpost.tar'),
      header: defaultHeader(),
      blobs: [
        {
          role: 'app-description',
          mediaType: 'application/yaml',
          source: { bytes: Buffer.from('name: hello\n') },
        },
        { role: 'oci-blob', mediaType: 'application/wasm', source: { file: path.join(dir, 'module.wasm') } },
        // The same bytes again from a stream: deduplicated by digest after hashing.
        { role: 'oci-blob', source: { stream: () => chunked(wasm, 10_000) } },
        // A known digest listed twice: skipped before reading.
        {
          role: 'git-pack',
          digest: crypto.createHash('sha256').update('PACK').digest('hex').replace(/^/, 'sha256:'),
          source: { bytes: Buffer.from('PACK') },
        },
        {
          role: 'git-pack',
          digest: crypto.createHash('sha256').update('PACK').digest('hex').replace(/^/, 'sha256:'),
          source: { bytes: Buffer.from('PACK') },
        },
      ],
      signer: keySigner(key),
      clock: clockAt(T0),
      onProgress: (p) => progress.push(p.bytes),
    });
    expect(written.deduplicated).toBe(2);
    expect(written.index.blobs.map((b) => b.role)).toEqual(['app-description', 'oci-blob', 'git-pack']);
    expect(written.size).toBe(fs.statSync(written.file).size);
    expect(fs.readdirSync(path.dirname(written.file))).toEqual(['b.outpost.tar']); // no temporary left
    expect(progress.length).toBeGreaterThan(0);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);

    const before = fs.readdirSync(dir, { recursive: true });
    const report = await verifyBundle({
      source: written.file,
      trust: trustOf(key),
      expect: { kind: 'hq-to-site', site: 'site-a' },
      lastSequence: 4,
      clock: clockAt(T0 + DAY),
    });
    expect(report.index).toEqual(written.index);
    expect(report.indexDigest).toBe(written.indexDigest);
    expect(report.manifestDigest).toBe(written.manifestDigest);
    expect(report.site).toBe('site-a');
    expect(report.signer.keyId).toBe(key.keyId);
    expect(report.signature.algorithm).toBe('ED');
    expect(report.bytes).toBe(written.size);
    expect(report.blobs.byRole['oci-blob']).toEqual({ count: 1, bytes: wasm.length });
    expect(report.lastSequence).toBe(4);
    expect(report.warnings).toEqual([]);
    expect(fs.readdirSync(dir, { recursive: true })).toEqual(before); // verify wrote nothing

    const staged = await stageBundle({
      source: chunked(fs.readFileSync(written.file), 7_777), // odd chunk sizes across every boundary
      trust: trustOf(key),
      clock: clockAt(T0),
      stagingDir: path.join(dir, 'staging', 'b5'),
    });
    const wasmDigest = written.index.blobs[1]!.digest;
    expect(fs.readFileSync(staged.blobPath(wasmDigest)).equals(wasm)).toBe(true);
    expect(fs.readFileSync(path.join(staged.dir, 'oci-layout'), 'utf8')).toBe(
      '{"imageLayoutVersion":"1.0.0"}',
    );
    // The staging folder is itself an OCI layout that skopeo reads.
    const raw = execFileSync('skopeo', ['inspect', '--raw', `oci:${staged.dir}:${BUNDLE_REF_NAME}`], {
      encoding: 'utf8',
    });
    expect(JSON.parse(raw).layers.map((l: { digest: string }) => l.digest)).toEqual(
      written.index.blobs.map((b) => b.digest),
    );
    await staged.remove();
    expect(fs.existsSync(staged.dir)).toBe(false);
  });

  it('is a tar that `tar tf` lists and an OCI archive that `skopeo inspect` and `skopeo copy` read', async () => {
    const { file, written } = await makeBundle(dir);
    const names = execFileSync('tar', ['tf', file], { encoding: 'utf8' }).trim().split('\n');
    expect(names.slice(0, 4)).toEqual([
      'outpost-bundle.json',
      'outpost-bundle.json.minisig',
      'oci-layout',
      'index.json',
    ]);
    expect(names.slice(6)).toEqual(written.index.blobs.map((b) => `blobs/sha256/${b.digest.slice(7)}`));
    expect(names[4]).toBe(`blobs/sha256/${written.manifestDigest.slice(7)}`);

    const inspect = JSON.parse(
      execFileSync('skopeo', ['inspect', `oci-archive:${file}`], { encoding: 'utf8' }),
    );
    expect(inspect.Digest).toBe(written.manifestDigest);
    expect(inspect.Labels).toMatchObject({
      'dev.outpost.bundle.kind': 'hq-to-site',
      'dev.outpost.bundle.source': 'hq',
      'dev.outpost.bundle.target': 'site-a',
      'dev.outpost.bundle.sequence': '5',
      'dev.outpost.bundle.index': written.indexDigest,
    });
    expect(inspect.Layers).toEqual(written.index.blobs.map((b) => b.digest));
    // skopeo copy checks every blob's digest on its own: an independent reader of the whole layout.
    execFileSync('skopeo', [
      'copy',
      '-q',
      `oci-archive:${file}:${BUNDLE_REF_NAME}`,
      `dir:${path.join(dir, 'copy')}`,
    ]);
    for (const b of written.index.blobs)
      expect(fs.statSync(path.join(dir, 'copy', b.digest.slice(7))).size).toBe(b.size);
  });

  it('has an index signature Debian minisign verifies with the exported public key', async () => {
    const { file, key } = await makeBundle(dir);
    const x = path.join(dir, 'x');
    fs.mkdirSync(x);
    execFileSync('tar', ['xf', file, '-C', x, 'outpost-bundle.json', 'outpost-bundle.json.minisig']);
    fs.writeFileSync(path.join(dir, 'hq.pub'), formatPublicKey(key));
    const ok = spawnSync(
      'minisign',
      ['-Vm', path.join(x, 'outpost-bundle.json'), '-p', path.join(dir, 'hq.pub')],
      {
        encoding: 'utf8',
      },
    );
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Trusted comment: timestamp:');
    expect(ok.stdout).toContain('bundle:hq-to-site hq to site-a #5');
    const other = generateKeyPair();
    fs.writeFileSync(path.join(dir, 'other.pub'), formatPublicKey(other));
    expect(
      spawnSync('minisign', ['-Vm', path.join(x, 'outpost-bundle.json'), '-p', path.join(dir, 'other.pub')])
        .status,
    ).not.toBe(0);
  });

  it('accepts an index signed by `minisign -S`, prehashed and legacy, with a trusted key', async () => {
    const pub = path.join(dir, 'm.pub');
    const sec = path.join(dir, 'm.key');
    execFileSync('minisign', ['-G', '-W', '-p', pub, '-s', sec], { stdio: 'pipe' });
    for (const legacy of [false, true]) {
      const signer = minisignSigner(dir, sec, pub, legacy);
      const { file } = await makeBundle(dir, { signer, name: `m-${legacy}.tar` });
      const report = await verifyBundle({
        source: file,
        trust: { keys: [{ publicKey: signer.publicKey }] },
        clock: clockAt(T0),
      });
      expect(report.signature.algorithm).toBe(legacy ? 'Ed' : 'ED');
      expect(report.signer.keyId).toBe(signer.publicKey.keyId);
      await expectCode(
        verifyBundle({ source: file, trust: trustOf(generateKeyPair()), clock: clockAt(T0) }),
        'bundle/unknown-signer',
      );
    }
  });

  it("refuses by the caller's state: site, kind, source, replay, expiry, signer scope, unknown and removed keys", async () => {
    const { file, key } = await makeBundle(dir);
    const now = clockAt(T0 + DAY);
    const base = { source: file, trust: trustOf(key), clock: now };
    await expectCode(verifyBundle({ ...base, expect: { site: 'site-b' } }), 'bundle/wrong-site');
    await expectCode(verifyBundle({ ...base, expect: { source: 'other-hq' } }), 'bundle/wrong-site');
    await expectCode(verifyBundle({ ...base, expect: { kind: 'site-to-hq' } }), 'bundle/wrong-kind');
    const same = await expectCode(verifyBundle({ ...base, lastSequence: 5 }), 'bundle/replay');
    expect(same.message).toMatch(/already imported/);
    const older = await expectCode(
      verifyBundle({ ...base, lastSequence: () => Promise.resolve(9) }),
      'bundle/replay',
    );
    expect(older.message).toMatch(/older than the last imported one \(#9\)/);
    await expectCode(verifyBundle({ ...base, clock: clockAt(T0 + 30 * DAY) }), 'bundle/expired');
    await expectCode(
      verifyBundle({ ...base, trust: { keys: [{ publicKey: key, site: 'site-b' }] } }),
      'bundle/wrong-signer',
    );
    await expectCode(verifyBundle({ ...base, trust: trustOf(generateKeyPair()) }), 'bundle/unknown-signer');
    await expectCode(
      verifyBundle({ ...base, trust: { ...trustOf(key), removed: [key.keyId] } }),
      'bundle/removed-signer',
    );
    // The stream passed to lastSequence is the one the index names.
    const seen: unknown[] = [];
    await verifyBundle({ ...base, lastSequence: (s) => (seen.push(s), null) });
    expect(seen).toEqual([{ kind: 'hq-to-site', source: 'hq', target: 'site-a' }]);
    // A bundle made "in the future" is accepted with a warning (site clocks drift).
    const early = await verifyBundle({ ...base, clock: clockAt(T0 - DAY) });
    expect(early.warnings[0]).toMatch(/check the clocks/);
  });

  it('follows a key rotation carried in the bundle and reports it so the caller can pin the new key', async () => {
    const oldKey = generateKeyPair();
    const newKey = generateKeyPair();
    const rotation = createRotation(oldKey, newKey, new Date(T0));
    const file = path.join(dir, 'rotated.tar');
    await writeBundle({
      file,
      header: defaultHeader(),
      blobs: defaultBlobs(),
      signer: keySigner(newKey),
      rotations: [rotation],
      clock: clockAt(T0),
    });
    const report = await verifyBundle({
      source: file,
      trust: { keys: [{ publicKey: oldKey, name: 'hq', site: 'site-a' }] },
      clock: clockAt(T0),
    });
    expect(report.signer.keyId).toBe(newKey.keyId);
    expect(report.signer.trustedAs.name).toBe('hq');
    expect(report.signer.rotated.map((r) => [r.from, r.to.keyId])).toEqual([[oldKey.keyId, newKey.keyId]]);
    await expectCode(
      verifyBundle({
        source: file,
        trust: { keys: [{ publicKey: oldKey }], removed: [newKey.keyId] },
        clock: clockAt(T0),
      }),
      'bundle/removed-signer',
    );
    // Without the statement the new key is unknown.
    const plain = await makeBundle(dir, { key: newKey, name: 'plain.tar' });
    await expectCode(
      verifyBundle({ source: plain.file, trust: trustOf(oldKey), clock: clockAt(T0) }),
      'bundle/unknown-signer',
    );
  });

  it('a status bundle speaks for its source site', async () => {
    const siteKey = generateKeyPair();
    const { file } = await makeBundle(dir, {
      key: siteKey,
      header: { kind: 'site-to-hq', source: 'site-a', target: 'hq', git: null, acknowledged: 5 },
      blobs: [
        {
          role: 'status',
          mediaType: 'application/json',
          source: { bytes: Buffer.from('{"deployments":[]}') },
        },
      ],
    });
    const trust: Trust = { keys: [{ publicKey: siteKey, site: 'site-a' }] };
    const report = await verifyBundle({
      source: file,
      trust,
      expect: { kind: 'site-to-hq', target: 'hq' },
      clock: clockAt(T0),
    });
    expect(report.site).toBe('site-a');
    expect(report.index.acknowledged).toBe(5);
    await expectCode(
      verifyBundle({
        source: file,
        trust: { keys: [{ publicKey: siteKey, site: 'site-b' }] },
        clock: clockAt(T0),
      }),
      'bundle/wrong-signer',
    );
  });

  it('stops a stage on abort, removes the staging folder, and reports progress up to the file size', async () => {
    const { file, key } = await makeBundle(dir, {
      blobs: [{ role: 'oci-blob', source: { bytes: pseudoRandomBytes(6 << 20, 4) } }],
    });
    const size = fs.statSync(file).size;
    const seen: { bytes: number; totalBytes: number | undefined }[] = [];
    await stageBundle({
      source: file,
      trust: trustOf(key),
      clock: clockAt(T0),
      stagingDir: path.join(dir, 'ok'),
      onProgress: (p) => seen.push(p),
    });
    expect(seen.at(-1)).toEqual({ bytes: size, totalBytes: size });
    const ac = new AbortController();
    const parent = path.join(dir, 'site');
    await expectCode(
      stageBundle({
        source: file,
        trust: trustOf(key),
        clock: clockAt(T0),
        stagingDir: path.join(parent, 'staging'),
        signal: ac.signal,
        onProgress: (p) => {
          if (p.bytes > 2 << 20) ac.abort();
        },
      }),
      'cancelled',
    );
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('peeks at what a file claims without verifying it', async () => {
    const { file, key } = await makeBundle(dir);
    expect(await peekBundle(file)).toEqual({
      verified: false,
      kind: 'hq-to-site',
      source: 'hq',
      target: 'site-a',
      sequence: 5,
      created: new Date(T0).toISOString(),
      expires: new Date(T0 + 30 * DAY).toISOString(),
      signer: key.keyId,
    });
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    await expectCode(peekBundle(path.join(dir, 'notes.txt')), 'bundle/truncated');
  });
});

describe('bundle writer', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('bundle-writer')));
  afterEach(() => cleanup());

  const leftovers = () => fs.readdirSync(dir).filter((f) => f.includes('.partial'));

  it('stops on abort, on a failing source or a wrong digest, and leaves no file behind', async () => {
    const key = generateKeyPair();
    const file = path.join(dir, 'b.tar');
    const ac = new AbortController();
    await expectCode(
      writeBundle({
        file,
        header: defaultHeader(),
        signer: keySigner(key),
        blobs: [{ role: 'oci-blob', source: { bytes: pseudoRandomBytes(5 << 20, 1) } }],
        signal: ac.signal,
        onProgress: (p) => {
          if (p.bytes >= 2 << 20) ac.abort();
        },
      }),
      'cancelled',
    );
    await expectCode(
      writeBundle({
        file,
        header: defaultHeader(),
        signer: keySigner(key),
        blobs: [
          {
            role: 'git-pack',
            source: {
              stream: async function* () {
                yield Buffer.from('PACK');
                throw new Error('git pack-objects died');
              },
            },
          },
        ],
      }),
      'bundle/source-failed',
    );
    await expectCode(
      writeBundle({
        file,
        header: defaultHeader(),
        signer: keySigner(key),
        blobs: [{ role: 'x', source: { file: path.join(dir, 'missing') } }],
      }),
      'bundle/source-failed',
    );
    await expectCode(
      writeBundle({
        file,
        header: defaultHeader(),
        signer: keySigner(key),
        blobs: [
          { role: 'oci-blob', digest: `sha256:${'0'.repeat(64)}`, source: { bytes: Buffer.from('x') } },
        ],
      }),
      'bundle/digest-mismatch',
    );
    await expectCode(
      writeBundle({ file, header: defaultHeader({ target: '../etc' }), signer: keySigner(key), blobs: [] }),
      'invalid-input',
    );
    await expectCode(
      writeBundle({
        file,
        header: defaultHeader({ expires: new Date(T0 - 1) }),
        signer: keySigner(key),
        blobs: [],
      }),
      'invalid-input',
    );
    expect(fs.existsSync(file)).toBe(false);
    expect(leftovers()).toEqual([]);
    // An empty bundle (only the index) is valid; an existing file is not replaced unless asked.
    await writeBundle({ file, header: defaultHeader(), signer: keySigner(key), blobs: [] });
    await expectCode(
      writeBundle({ file, header: defaultHeader(), signer: keySigner(key), blobs: [] }),
      'already-exists',
    );
    await writeBundle({
      file,
      header: defaultHeader({ sequence: 6 }),
      signer: keySigner(key),
      blobs: [],
      overwrite: true,
    });
    expect(
      (await verifyBundle({ source: file, trust: trustOf(key), clock: clockAt(T0) })).index.sequence,
    ).toBe(6);
  });

  it('refuses a signer that does not sign what it was asked to', async () => {
    const key = generateKeyPair();
    const liar = keySigner(generateKeyPair());
    await expectCode(
      writeBundle({
        file: path.join(dir, 'b.tar'),
        header: defaultHeader(),
        blobs: [],
        signer: { publicKey: key, sign: (m, c) => liar.sign(m, c) },
      }),
      'bundle/bad-signature',
    );
    expect(leftovers()).toEqual([]);
  });
});
