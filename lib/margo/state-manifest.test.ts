import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, type StateManifest } from '../model/index.js';
import { encodeStateManifest, parseStateManifest, serializeStateManifest, sha256Digest } from './index.js';
import { readTestdata, thrown } from './test-helpers.js';

const ID = 'a3e2f5dc-912e-494f-8395-52cf3769bc06';
const yamlDigest = sha256Digest('id: a3e2f5dc\n');
const bundleDigest = sha256Digest('bundle bytes');

const manifest = (): StateManifest => ({
  manifestVersion: 101,
  bundle: {
    mediaType: 'application/vnd.margo.bundle.v1+tar+gzip',
    digest: bundleDigest,
    sizeBytes: 12,
    url: `/api/v1/bundles/${bundleDigest}`,
  },
  deployments: [{ deploymentId: ID, digest: yamlDigest, url: `/api/v1/deployments/${ID}/${yamlDigest}` }],
});

describe('serializeStateManifest', () => {
  it('writes JCS bytes: sorted members, no whitespace, reproducible digest', () => {
    const bytes = serializeStateManifest(manifest());
    const text = bytes.toString('utf8');
    expect(text.startsWith('{"bundle":{"digest":"sha256:')).toBe(true);
    expect(text).toBe(canonicalJson(manifest()));
    const reordered = {
      deployments: manifest().deployments,
      bundle: manifest().bundle,
      manifestVersion: 101,
    };
    expect(sha256Digest(serializeStateManifest(reordered))).toBe(sha256Digest(bytes));
  });

  it('writes bundle: null (present) when there are no deployments', () => {
    expect(serializeStateManifest({ manifestVersion: 1, bundle: null, deployments: [] }).toString()).toBe(
      '{"bundle":null,"deployments":[],"manifestVersion":1}',
    );
  });

  it.each<[string, (m: StateManifest) => StateManifest, string]>([
    [
      'a bundle with no deployments',
      (m) => ({ ...m, deployments: [] }),
      'bundle: must be null when there are no deployments',
    ],
    ['no bundle with deployments', (m) => ({ ...m, bundle: null }), 'bundle: must not be null'],
    ['version 0', (m) => ({ ...m, manifestVersion: 0 }), 'manifestVersion: must be a positive integer'],
    ['a bad digest', (m) => ({ ...m, bundle: { ...m.bundle!, digest: 'sha256:abc' } }), 'bundle.digest'],
  ])('refuses %s', (_name, change, fragment) => {
    const err = thrown(() => serializeStateManifest(change(manifest())));
    expect(err.code).toBe('invalid-input');
    expect(err.message).toContain(fragment);
  });
});

describe('parseStateManifest', () => {
  it('reads what serializeStateManifest writes, from bytes, text or a value', () => {
    const bytes = serializeStateManifest(manifest());
    expect(parseStateManifest(bytes)).toEqual(manifest());
    expect(parseStateManifest(bytes.toString())).toEqual(manifest());
    expect(parseStateManifest(JSON.parse(bytes.toString()))).toEqual(manifest());
  });

  it('refuses the spec example, whose digests are abbreviated, and reads it with real digests', () => {
    const text = readTestdata('examples/state-manifest-example.json').toString('utf8');
    const err = thrown(() => parseStateManifest(text));
    expect(err.code).toBe('margo/invalid-manifest');
    expect(err.status).toBe(502);
    expect(err.errors!.map((e) => e.field)).toEqual(['deployments[0].digest', 'bundle.digest']);
    const fixed = text
      .replaceAll('sha256:b5c6d7e8f9...', bundleDigest)
      .replaceAll('sha256:a4e01b2c3d...', yamlDigest);
    const m = parseStateManifest(fixed);
    expect(m.manifestVersion).toBe(101);
    expect(m.deployments[0]!.url).toBe(`/api/v1/deployments/${ID}/${yamlDigest}`);
  });

  it('accepts a prefixed or absolute URL, ignores unknown members, drops a bad sizeBytes', () => {
    const m = manifest() as unknown as Record<string, unknown> & StateManifest;
    const body = {
      ...m,
      _client_cert: { spiffe_id: 'spiffe://x' },
      bundle: {
        ...m.bundle!,
        sizeBytes: 'huge',
        url: `https://wfm.example/v1alpha2/margo/api/v1/bundles/${bundleDigest}`,
      },
      deployments: [
        {
          ...m.deployments[0]!,
          sizeBytes: -5,
          url: `/v1alpha2/margo/api/v1/deployments/${ID}/${yamlDigest}`,
        },
      ],
    };
    const out = parseStateManifest(body);
    expect(out.bundle).not.toHaveProperty('sizeBytes');
    expect(out.deployments[0]).not.toHaveProperty('sizeBytes');
    expect(out).not.toHaveProperty('_client_cert');
  });

  it.each<[string, unknown, string]>([
    ['not JSON', '{"manifestVersion":', 'not JSON'],
    [
      'an omitted bundle',
      { manifestVersion: 1, deployments: [] },
      'bundle: is required (null when there are no deployments)',
    ],
    [
      'a string version',
      { manifestVersion: '2', bundle: null, deployments: [] },
      'manifestVersion: must be a positive integer',
    ],
    ['a version beyond 2^53', { manifestVersion: 2 ** 60, bundle: null, deployments: [] }, 'beyond 2^53-1'],
    [
      'another digest algorithm',
      { ...manifest(), deployments: [{ ...manifest().deployments[0], digest: `sha512:${'a'.repeat(128)}` }] },
      'deployments[0].digest',
    ],
    [
      'a URL for another digest',
      { ...manifest(), bundle: { ...manifest().bundle, url: `/api/v1/bundles/${yamlDigest}` } },
      'bundle.url: ',
    ],
    [
      'a URL for another deployment',
      {
        ...manifest(),
        deployments: [{ ...manifest().deployments[0], url: `/api/v1/deployments/x/${yamlDigest}` }],
      },
      'deployments[0].url',
    ],
    [
      'a wrong media type',
      { ...manifest(), bundle: { ...manifest().bundle, mediaType: 'application/gzip' } },
      'bundle.mediaType',
    ],
    [
      'a duplicate deployment',
      { ...manifest(), deployments: [manifest().deployments[0], manifest().deployments[0]] },
      'duplicate deploymentId',
    ],
    [
      'a ftp URL',
      { ...manifest(), bundle: { ...manifest().bundle, url: `ftp://x/api/v1/bundles/${bundleDigest}` } },
      'must be a path',
    ],
  ])('refuses %s', (_name, body, fragment) => {
    const err = thrown(() => parseStateManifest(body));
    expect(err.code).toBe('margo/invalid-manifest');
    expect(err.message).toContain(fragment);
  });
});

describe("encodeStateManifest (the server's fast path)", () => {
  const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`);
  const entry = fc.record(
    {
      deploymentId: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._~-]{0,199}$/),
      digest,
      sizeBytes: fc.nat(),
    },
    { requiredKeys: ['deploymentId', 'digest'] },
  );
  const arbitrary = fc
    .record({
      manifestVersion: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      deployments: fc.uniqueArray(entry, { maxLength: 5, selector: (e) => e.deploymentId }),
      bundleDigest: digest,
      bundleSize: fc.option(fc.nat(), { nil: undefined }),
    })
    .map(({ manifestVersion, deployments, bundleDigest, bundleSize }): StateManifest => ({
      manifestVersion,
      bundle:
        deployments.length === 0
          ? null
          : {
              mediaType: 'application/vnd.margo.bundle.v1+tar+gzip',
              digest: bundleDigest,
              ...(bundleSize === undefined ? {} : { sizeBytes: bundleSize }),
              url: `/api/v1/bundles/${bundleDigest}`,
            },
      deployments: deployments.map((d) => ({
        ...d,
        url: `/api/v1/deployments/${d.deploymentId}/${d.digest}`,
      })),
    }));

  it('writes exactly the bytes of serializeStateManifest', () => {
    expect(encodeStateManifest(manifest()).equals(serializeStateManifest(manifest()))).toBe(true);
    fc.assert(
      fc.property(arbitrary, (m) => {
        expect(encodeStateManifest(m).toString()).toBe(serializeStateManifest(m).toString());
      }),
      { numRuns: 300 },
    );
  });
});
