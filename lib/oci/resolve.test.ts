import { describe, expect, it } from 'vitest';
import { isOutpostError } from '../errors/index.js';
import { MediaType, type ImageIndex } from './media-types.js';
import { parseManifest, selectFromIndex } from './resolve.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;

const index: ImageIndex = {
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    {
      mediaType: MediaType.ociManifest,
      digest: d('1'),
      size: 10,
      platform: { os: 'linux', architecture: 'amd64' },
    },
    {
      mediaType: MediaType.ociManifest,
      digest: d('2'),
      size: 10,
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    },
    {
      mediaType: MediaType.ociManifest,
      digest: d('3'),
      size: 10,
      platform: { os: 'linux', architecture: 'arm64' },
    },
    {
      mediaType: MediaType.ociManifest,
      digest: d('4'),
      size: 10,
      platform: { os: 'unknown', architecture: 'unknown' },
      annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
    },
  ],
};

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('selectFromIndex', () => {
  it('picks the requested platform, variant included', () => {
    expect(selectFromIndex(index, { os: 'linux', architecture: 'arm64' }, 'r').digest).toBe(d('3'));
    expect(selectFromIndex(index, { os: 'linux', architecture: 'arm', variant: 'v7' }, 'r').digest).toBe(
      d('2'),
    );
  });

  it('takes the only real entry when attestations are ignored', () => {
    const one: ImageIndex = { ...index, manifests: [index.manifests[2]!, index.manifests[3]!] };
    expect(selectFromIndex(one, undefined, 'r').digest).toBe(d('3'));
  });

  it('names the available platforms when none matches', () => {
    const e = thrown(() => selectFromIndex(index, { os: 'linux', architecture: 'riscv64' }, 'reg.io/a:1'));
    expect(isOutpostError(e, 'oci/no-matching-platform')).toBe(true);
    expect(e.message).toBe(
      'reg.io/a:1: no manifest for linux/riscv64 in the index (it has linux/amd64, linux/arm/v7, linux/arm64)',
    );
  });
});

describe('parseManifest', () => {
  const bytes = (o: unknown) => Buffer.from(JSON.stringify(o));

  it('takes the media type from the body, else the Content-Type header', () => {
    const m = { schemaVersion: 2, config: { mediaType: 'a/b', digest: d('a'), size: 2 }, layers: [] };
    expect(parseManifest(bytes(m), MediaType.dockerManifest, 'r').mediaType).toBe(MediaType.dockerManifest);
    expect(parseManifest(bytes({ ...m, mediaType: MediaType.ociManifest }), null, 'r').mediaType).toBe(
      MediaType.ociManifest,
    );
    expect(parseManifest(bytes(index), 'application/json', 'r').mediaType).toBe(MediaType.ociIndex);
  });

  it.each([
    ['not json', Buffer.from('{'), 'oci/invalid-manifest', /not JSON/],
    ['schema 1', bytes({ schemaVersion: 1, fsLayers: [] }), 'oci/unsupported-media-type', /schemaVersion 1/],
    [
      'a bad layer digest',
      bytes({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: 'a/b', digest: d('a'), size: 2 },
        layers: [{ mediaType: 'a/b', digest: 'sha256:xyz', size: 1 }],
      }),
      'oci/invalid-manifest',
      /layers\[0\]/,
    ],
    [
      'a negative size',
      bytes({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: 'a/b', digest: d('a'), size: -1 },
        layers: [],
      }),
      'oci/invalid-manifest',
      /config: size/,
    ],
    [
      'an unknown media type',
      bytes({ schemaVersion: 2, mediaType: 'application/x-other', layers: [] }),
      'oci/unsupported-media-type',
      /application\/x-other is not supported/,
    ],
  ])('refuses %s', (_name, b, code, why) => {
    const e = thrown(() => parseManifest(b, null, 'reg.io/a:1'));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(why);
  });
});
