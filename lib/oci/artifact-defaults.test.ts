import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isOutpostError } from '../errors/index.js';
import { composeLayoutProblem, planPush } from './artifact-defaults.js';
import { digestOf } from './digest.js';
import { MediaType } from './media-types.js';
import { EMPTY_WASM, writeTarGz } from './testing/archives.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-oci-plan-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

async function rejects(p: Promise<unknown>, why: RegExp): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(isOutpostError(err, 'invalid-input')).toBe(true);
  expect((err as Error).message).toMatch(why);
}

describe('planPush', () => {
  it('packs a .wasm file as a WASM module with its config', async () => {
    const f = path.join(dir, 'sensor.wasm');
    fs.writeFileSync(f, EMPTY_WASM);
    const plan = await planPush(f);
    expect(plan.kind).toBe('wasm');
    expect(plan.artifactType).toBeUndefined();
    expect(plan.config?.mediaType).toBe(MediaType.wasmConfig);
    expect(JSON.parse(Buffer.from(plan.config!.bytes!).toString())).toEqual({
      architecture: 'wasm',
      os: 'wasip1',
      layerDigests: [digestOf(EMPTY_WASM)],
    });
    expect(plan.files).toEqual([
      {
        path: f,
        mediaType: 'application/wasm',
        annotations: { 'org.opencontainers.image.title': 'sensor.wasm' },
      },
    ]);
    // recognised by its magic bytes too
    const g = path.join(dir, 'module.bin');
    fs.writeFileSync(g, EMPTY_WASM);
    expect((await planPush(g)).kind).toBe('wasm');
  });

  it('packs a tar.gz with <dir>/compose.yaml as a Margo compose archive', async () => {
    const f = path.join(dir, 'app.tar.gz');
    await writeTarGz(f, [
      { name: 'app/', type: 'directory' },
      { name: 'app/compose.yaml', content: 'services: {}\n' },
      { name: 'app/config/x.conf', content: 'x' },
      { name: 'app/latest', type: 'symlink', linkname: 'config/x.conf' },
    ]);
    const plan = await planPush(f);
    expect(plan).toMatchObject({
      kind: 'compose',
      artifactType: MediaType.composeArtifact,
      files: [{ path: f, mediaType: MediaType.composeLayer }],
    });
    expect(plan.config).toBeUndefined();
  });

  it.each([
    [[{ name: 'compose.yaml', content: '' }], /at the top level/],
    [
      [
        { name: 'a/compose.yaml', content: '' },
        { name: 'b/x', content: '' },
      ],
      /exactly one top-level directory \(found 2\)/,
    ],
    [[{ name: 'a/compose.yml', content: '' }], /must be named compose.yaml/],
    [
      [
        { name: 'a/compose.yaml', content: '' },
        { name: '/etc/passwd', content: '' },
      ],
      /absolute path/,
    ],
    [
      [
        { name: 'a/compose.yaml', content: '' },
        { name: 'a/../../x', content: '' },
      ],
      /contains "\.\."/,
    ],
    [
      [
        { name: 'a/compose.yaml', content: '' },
        { name: 'a/evil', type: 'symlink' as const, linkname: '../../etc/shadow' },
      ],
      /points outside its directory/,
    ],
  ])('refuses a compose archive that breaks the Margo layout rules (%#)', async (entries, why) => {
    const f = path.join(dir, 'bad.tgz');
    await writeTarGz(f, entries);
    await rejects(planPush(f), why);
  });

  it('packs margo.yaml with the resources it names as a Margo application package', async () => {
    fs.mkdirSync(path.join(dir, 'resources'));
    fs.writeFileSync(path.join(dir, 'resources', 'icon.png'), 'png');
    fs.writeFileSync(path.join(dir, 'resources', 'release-notes.md'), '# notes');
    fs.writeFileSync(
      path.join(dir, 'margo.yaml'),
      [
        'apiVersion: margo.org/v1-alpha1',
        'kind: ApplicationDescription',
        'id: hello',
        'metadata:',
        '  name: Hello',
        '  version: 1.2.0',
        '  catalog:',
        '    application:',
        '      icon: ./resources/icon.png',
        '      releaseNotes: resources/release-notes.md',
        '      site: https://example.com',
        '    organization: [{ name: Example }]',
        'deploymentProfiles: []',
      ].join('\n'),
    );
    const plan = await planPush(path.join(dir, 'margo.yaml'), { tag: '1.1.0' });
    expect(plan.kind).toBe('margo-app');
    expect(plan.artifactType).toBe(MediaType.margoApp);
    expect(plan.config).toBeUndefined();
    expect(plan.files.map((f) => [f.mediaType, f.annotations])).toEqual([
      [MediaType.margoAppDescription, { 'org.opencontainers.image.title': 'margo.yaml' }],
      [
        'application/vnd.margo.app.icon.v1+png',
        {
          'org.opencontainers.image.title': 'resources/icon.png',
          'org.margo.app.resource': 'metadata.catalog.application.icon',
        },
      ],
      [
        'application/vnd.margo.app.releaseNotes.v1+markdown',
        {
          'org.opencontainers.image.title': 'resources/release-notes.md',
          'org.margo.app.resource': 'metadata.catalog.application.releaseNotes',
        },
      ],
    ]);
    expect(plan.warnings).toEqual(['Margo expects the tag to equal metadata.version (1.2.0), not 1.1.0']);
  });

  it('refuses margo.yaml resources outside the folder or missing', async () => {
    const write = (icon: string) =>
      fs.writeFileSync(
        path.join(dir, 'margo.yaml'),
        `metadata:\n  name: x\n  version: 1.0.0\n  catalog:\n    application:\n      icon: ${icon}\n`,
      );
    write('../outside.png');
    await rejects(planPush(path.join(dir, 'margo.yaml')), /points outside the package folder/);
    write('missing.png');
    await rejects(planPush(path.join(dir, 'margo.yaml')), /names missing.png, which does not exist/);
  });

  it('needs --artifact-type for anything else, and takes --media-type', async () => {
    const f = path.join(dir, 'model.onnx');
    fs.writeFileSync(f, 'weights');
    await rejects(planPush(f), /cannot tell what kind of artifact model\.onnx is.*--artifact-type/);
    expect(
      await planPush(f, { artifactType: 'application/vnd.acme.model.v1', mediaType: 'application/onnx' }),
    ).toMatchObject({
      kind: 'generic',
      artifactType: 'application/vnd.acme.model.v1',
      files: [{ path: f, mediaType: 'application/onnx' }],
    });
    await rejects(planPush(f, { artifactType: 'not a type' }), /not a valid artifact type/);
    await rejects(planPush(path.join(dir, 'nope.wasm')), /cannot read .*nope\.wasm: ENOENT/);
    const notGz = path.join(dir, 'x.tar.gz');
    fs.writeFileSync(notGz, 'plain text');
    await rejects(planPush(notGz), /not a gzip-compressed tar archive/);
  });

  it('composeLayoutProblem accepts ./-prefixed entries', () => {
    expect(
      composeLayoutProblem([
        { name: './', type: 'directory' },
        { name: './svc/', type: 'directory' },
        { name: './svc/compose.yaml', type: 'file' },
      ]),
    ).toBeUndefined();
  });
});
