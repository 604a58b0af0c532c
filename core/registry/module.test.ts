import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore } from '../../test/helpers/core.js';

/**
 * Garbage collection roots in deployments: a manifest that only a deployment references (by digest, no
 * tag) survives `registry.gc`, and goes once no deployment references it any more.
 */
const sha = (b: Uint8Array | string) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

const deploymentYaml = (repository: string, revision: string) => `apiVersion: application.margo.org/v1alpha1
kind: ApplicationDeployment
metadata:
  name: pinned
  namespace: default
  annotations:
    applicationId: pinned
    id: 6f7e2a8c-1b2d-4c3e-9f00-0a1b2c3d4e5f
spec:
  deploymentProfile:
    type: custom
    components:
      - name: m
        properties:
          repository: ${repository}
          revision: ${revision}
    x-outpost-extensions:
      runtime: wasm
`;

describe('registry garbage collection and deployments', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  beforeAll(async () => {
    t = await startTestCore({ overrides: { registry: { enabled: true } } });
  });
  afterAll(async () => t?.stop());

  it('keeps what a deployment pins by digest, removes it once no deployment does', async () => {
    const store = t.core.registry.requireStore();
    const cfg = Buffer.from('{}');
    const layer = Buffer.from('\0asm pinned module');
    await store.putBlob(Readable.from([cfg]));
    await store.putBlob(Readable.from([layer]));
    const m = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha(cfg), size: cfg.length },
        layers: [{ mediaType: 'application/wasm', digest: sha(layer), size: layer.length }],
      }),
    );
    const { digest } = await store.putManifest('registry.example/samples/pinned', sha(m), m);
    const yaml = Buffer.from(deploymentYaml('oci://registry.example/samples/pinned', digest));
    t.core.store.sqlite
      .prepare(
        `INSERT INTO lo_client_deployments (client_id, deployment_id, digest, size_bytes, yaml, since_version, until_version, until_at)
         VALUES ('default.edge-1', '6f7e2a8c-1b2d-4c3e-9f00-0a1b2c3d4e5f', ?, ?, ?, 1, NULL, NULL)`,
      )
      .run(sha(yaml), yaml.length, yaml);

    const kept = await t.core.client().registry.gc({ dryRun: false, graceSeconds: 0 });
    expect(kept.missingRoots).toEqual([]);
    expect(kept.blobsRemoved).toBe(0);
    expect(await store.getManifest('registry.example/samples/pinned', digest)).toBeDefined();

    t.core.store.sqlite.prepare('UPDATE lo_client_deployments SET until_version = 2, until_at = 1').run();
    const removed = await t.core.client().registry.gc({ dryRun: false, graceSeconds: 0 });
    expect(removed.manifestsRemoved).toBe(1);
    expect(removed.removed.map((r) => r.digest).sort()).toEqual([sha(cfg), sha(layer), digest].sort());
    expect(await store.statBlob(sha(layer))).toBeUndefined();
  });

  it('is refused with registry/disabled where no site registry runs', async () => {
    const co = await startTestCore({ overrides: { role: 'co', registry: { enabled: true } } });
    try {
      await expect(co.core.client().registry.gc({ dryRun: true })).rejects.toMatchObject({
        code: 'registry/disabled',
      });
      expect(await co.core.client().registry.status({})).toMatchObject({ enabled: false, url: null });
    } finally {
      await co.stop();
    }
  });
});
