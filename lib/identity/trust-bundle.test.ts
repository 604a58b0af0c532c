import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { issueSvid, createSiteCa, type SiteCa } from '../../core/ca/index.js';
import { wfmSpiffeId } from './spiffe-id.js';
import { newP256Key } from '../../core/ca/testing/certs.js';
import { buildTrustBundle, parseTrustBundle, parseWellKnownMargo, wellKnownMargo } from './trust-bundle.js';

// The two examples of the Margo Trust Bundle API 1.0.0-rc.3 (spiffe-trust-bundle-example.json and
// trust-discovery-document-example.json), placeholders included.
const SPEC_BUNDLE_EXAMPLE = `{
  "spiffe_sequence": 12,
  "spiffe_refresh_hint": 86400,
  "keys": [
    {
      "kty": "EC",
      "crv": "P-256",
      "x": "<base64url-encoded EC public key x coordinate>",
      "y": "<base64url-encoded EC public key y coordinate>",
      "use": "x509-svid",
      "x5c": ["<base64 DER of the Trust Domain's X.509 authority certificate>"]
    }
  ]
}`;
const SPEC_DISCOVERY_EXAMPLE = `{
  "trustDomain": "factory.example",
  "trustBundleUri": "https://mis.factory.example/.well-known/spiffe/bundle.json"
}`;
const NOW = Date.UTC(2026, 5, 1);
let ca: SiteCa;
let next: SiteCa;

beforeAll(async () => {
  ca = await createSiteCa({ trustDomain: 'factory.example', name: 'CA 1', now: NOW });
  next = await createSiteCa({ trustDomain: 'factory.example', name: 'CA 2', now: NOW });
});

describe('SPIFFE trust bundle', () => {
  it('has the shape of the Margo example and round-trips', () => {
    const bundle = buildTrustBundle({ anchorsPem: [ca.certPem], sequence: 12, refreshHintSeconds: 86_400 });
    const example = JSON.parse(SPEC_BUNDLE_EXAMPLE) as {
      keys: Record<string, unknown>[];
    };
    expect(Object.keys(bundle).sort()).toEqual(Object.keys(example).sort());
    expect(Object.keys(bundle.keys[0]!).sort()).toEqual(Object.keys(example.keys[0]!).sort());
    expect(bundle).toMatchObject({ spiffe_sequence: 12, spiffe_refresh_hint: 86_400 });
    const key = bundle.keys[0]!;
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'x509-svid' });
    expect(key).not.toHaveProperty('kid'); // SPIFFE X509-SVID 6.1
    expect(key.x).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // x5c is standard base64 DER of the CA certificate.
    expect(new X509Certificate(Buffer.from(key.x5c![0]!, 'base64')).fingerprint256).toBe(
      new X509Certificate(ca.certPem).fingerprint256,
    );

    const parsed = parseTrustBundle(JSON.stringify(bundle));
    expect(parsed).toEqual({ anchorsPem: [ca.certPem], sequence: 12, refreshHintSeconds: 86_400 });
  });

  it('carries several anchors during a rotation, without duplicates', () => {
    const bundle = buildTrustBundle({
      anchorsPem: [ca.certPem + next.certPem, ca.certPem],
      sequence: 13,
      refreshHintSeconds: 60,
    });
    expect(bundle.keys).toHaveLength(2);
    expect(parseTrustBundle(bundle).anchorsPem).toEqual([ca.certPem, next.certPem]);
  });

  it('ignores jwt-svid keys, unknown uses and entries without x5c; ignores unknown members', () => {
    const bundle = buildTrustBundle({ anchorsPem: [ca.certPem], sequence: 1, refreshHintSeconds: 60 });
    const doc = {
      ...bundle,
      future_member: true,
      keys: [
        { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', use: 'jwt-svid', kid: 'k1' },
        { kty: 'EC', use: 'something-else', x5c: ['not even base64!'] },
        { kty: 'EC', use: 'x509-svid' },
        ...bundle.keys,
      ],
    };
    expect(parseTrustBundle(doc).anchorsPem).toEqual([ca.certPem]);
  });

  it('fails closed on zero x509-svid anchors (the Margo example with placeholders included)', () => {
    expect(() => parseTrustBundle({ keys: [{ kty: 'EC', use: 'jwt-svid' }] })).toThrow(
      expect.objectContaining({
        code: 'identity/invalid-trust-bundle',
        message: expect.stringContaining('no x509-svid anchors'),
      }),
    );
    expect(() => parseTrustBundle(SPEC_BUNDLE_EXAMPLE)).toThrow(/x5c\[0\] is not base64/);
    expect(() => parseTrustBundle('{')).toThrow(/not valid JSON/);
    expect(() => parseTrustBundle({})).toThrow(/no "keys" array/);
  });

  it('rejects a regressed sequence, accepts the same or a newer one, and replaces the anchors', () => {
    const v13 = buildTrustBundle({ anchorsPem: [next.certPem], sequence: 13, refreshHintSeconds: 60 });
    const v12 = buildTrustBundle({ anchorsPem: [ca.certPem], sequence: 12, refreshHintSeconds: 60 });
    expect(() => parseTrustBundle(v12, { previousSequence: 13 })).toThrow(
      expect.objectContaining({ code: 'identity/trust-bundle-regressed' }),
    );
    expect(parseTrustBundle(v13, { previousSequence: 13 }).anchorsPem).toEqual([next.certPem]);
    // The old anchor is gone from the result: the caller replaces its set with exactly this one.
    expect(parseTrustBundle(v13, { previousSequence: 12 }).anchorsPem).not.toContain(ca.certPem);
  });

  it('rejects a non-CA certificate and a JWK that does not match its certificate', async () => {
    const key = await newP256Key();
    const leaf = await issueSvid({
      ca,
      publicKey: key.publicKeyPem,
      spiffeId: wfmSpiffeId('factory.example', 'w'),
      now: NOW,
      ttlSeconds: 600,
    });
    const leafB64 = new X509Certificate(leaf.certPem).raw.toString('base64');
    expect(() => parseTrustBundle({ keys: [{ kty: 'EC', use: 'x509-svid', x5c: [leafB64] }] })).toThrow(
      /not a CA/,
    );
    const bundle = buildTrustBundle({ anchorsPem: [ca.certPem], sequence: 1, refreshHintSeconds: 60 });
    const other = buildTrustBundle({ anchorsPem: [next.certPem], sequence: 1, refreshHintSeconds: 60 });
    const mixed = { keys: [{ ...bundle.keys[0]!, x: other.keys[0]!.x }] };
    expect(() => parseTrustBundle(mixed)).toThrow(/"x" does not match/);
    expect(() =>
      buildTrustBundle({ anchorsPem: [leaf.certPem], sequence: 1, refreshHintSeconds: 60 }),
    ).toThrow(/must be a CA/);
    expect(() =>
      buildTrustBundle({ anchorsPem: [ca.certPem], sequence: -1, refreshHintSeconds: 60 }),
    ).toThrow(/sequence/);
  });
});

describe('/.well-known/margo', () => {
  it('parses the Margo example and ignores unknown fields', () => {
    const example = SPEC_DISCOVERY_EXAMPLE;
    expect(parseWellKnownMargo(example, { expectTrustDomain: 'factory.example' })).toEqual({
      trustDomain: 'factory.example',
      trustBundleUri: 'https://mis.factory.example/.well-known/spiffe/bundle.json',
    });
    expect(
      parseWellKnownMargo({
        trustDomain: 'td',
        trustBundleUri: 'https://lo:8443/.well-known/spiffe/bundle.json',
        extra: 1,
      }),
    ).toEqual({ trustDomain: 'td', trustBundleUri: 'https://lo:8443/.well-known/spiffe/bundle.json' });
  });

  it('rejects a non-https bundle URI, a foreign trust domain and junk', () => {
    expect(() => parseWellKnownMargo({ trustDomain: 'td', trustBundleUri: 'http://lo/bundle.json' })).toThrow(
      expect.objectContaining({
        code: 'identity/invalid-discovery-document',
        message: expect.stringContaining('not https'),
      }),
    );
    expect(() => parseWellKnownMargo({ trustDomain: 'td', trustBundleUri: '/relative' })).toThrow(
      /not an absolute URL/,
    );
    expect(() =>
      parseWellKnownMargo(
        { trustDomain: 'td', trustBundleUri: 'https://x/b' },
        { expectTrustDomain: 'mine' },
      ),
    ).toThrow(/not "mine"/);
    expect(() => parseWellKnownMargo('[]')).toThrow(/not a JSON object/);
    expect(() => parseWellKnownMargo({ trustBundleUri: 'https://x/b' })).toThrow(/trustDomain/);
  });

  it('builds the document the WFM serves', () => {
    expect(
      wellKnownMargo({ trustDomain: 'td', trustBundleUri: 'https://lo:8443/.well-known/spiffe/bundle.json' }),
    ).toEqual({
      trustDomain: 'td',
      trustBundleUri: 'https://lo:8443/.well-known/spiffe/bundle.json',
    });
    expect(() => wellKnownMargo({ trustDomain: 'td', trustBundleUri: 'http://lo/x' })).toThrow(/not https/);
  });
});
