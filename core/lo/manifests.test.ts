import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseStateManifest, sha256Digest } from '../../lib/margo/index.js';
import { openStore, type Store } from '../store/db.js';
import { createManifestStore, type ManifestStore } from './manifests.js';

const YAML = (name: string) =>
  Buffer.from(
    `apiVersion: application.margo.org/v1alpha1\nkind: ApplicationDeployment\nmetadata:\n  name: ${name}\n`,
  );
const D1 = '4a1f2c3d-0000-4000-8000-000000000001';
const D2 = '4a1f2c3d-0000-4000-8000-000000000002';

/**
 * A deploy to many clients at once (ADR 0504): clients with the same deployments share one bundle build,
 * each keeps its own bundle row and manifest; the poll's ETag is known from memory once the apply
 * committed, and never when it rolled back; a status report checks the version without the bytes.
 */
describe('manifest store: applying to many clients', () => {
  let dir: string;
  let store: Store;
  let manifests: ManifestStore;
  const clients = Array.from({ length: 70 }, (_, i) => `default.n${i}`);

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-manifests-'));
    store = openStore(path.join(dir, 'outpost.db'));
    const clock = { now: () => 1_800_000_000_000, monotonic: () => 0 };
    manifests = createManifestStore({ store, clock });
  });
  afterEach(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the same deployments give every client the same bundle bytes, served per client', async () => {
    const changed = await manifests.applyMany(
      [
        ...clients.map((clientId) => ({ clientId, desired: [{ deploymentId: D1, yaml: YAML('a') }] })),
        { clientId: 'default.other', desired: [{ deploymentId: D2, yaml: YAML('b') }] },
      ],
      null,
    );
    expect(changed).toHaveLength(clients.length + 1);
    const bundleOf = (clientId: string) => {
      const m = parseStateManifest(manifests.current(clientId)!.bytes);
      return { digest: m.bundle!.digest, bytes: manifests.bundle(clientId, m.bundle!.digest)! };
    };
    const first = bundleOf(clients[0]!);
    expect(sha256Digest(first.bytes)).toBe(first.digest);
    for (const c of clients) expect(bundleOf(c).digest).toBe(first.digest);
    const other = bundleOf('default.other');
    expect(other.digest).not.toBe(first.digest);
    expect(sha256Digest(other.bytes)).toBe(other.digest);
    // Each client holds only its own bundle.
    expect(manifests.bundle('default.other', first.digest)).toBeUndefined();
  });

  it('after a commit the tag is the new manifest; after a rollback it is still the old one', async () => {
    await manifests.applyMany(
      clients.map((clientId) => ({ clientId, desired: [{ deploymentId: D1, yaml: YAML('a') }] })),
      null,
    );
    const v1 = manifests.current(clients[0]!)!;
    expect(manifests.tag(clients[0]!)).toEqual({ digest: v1.digest });
    expect(manifests.currentVersion(clients[0]!)).toBe(v1.manifestVersion);

    await manifests.applyMany(
      clients.map((clientId) => ({ clientId, desired: [{ deploymentId: D1, yaml: YAML('a2') }] })),
      null,
    );
    const v2 = manifests.current(clients[0]!)!;
    expect(v2.digest).not.toBe(v1.digest);
    expect(manifests.tag(clients[0]!)).toEqual({ digest: v2.digest });
    expect(manifests.currentVersion(clients[0]!)).toBe(v2.manifestVersion);

    // Inside a transaction that then fails: nothing is written, and the tag stays what is on disk.
    let applied: Promise<string[]> | undefined;
    expect(() =>
      store.tx(() => {
        applied = manifests.applyMany(
          clients.map((clientId) => ({ clientId, desired: [{ deploymentId: D1, yaml: YAML('a3') }] })),
          null,
        );
        throw new Error('rolled back');
      }),
    ).toThrow('rolled back');
    await applied;
    expect(manifests.current(clients[0]!)!.digest).toBe(v2.digest);
    expect(manifests.tag(clients[0]!)).toEqual({ digest: v2.digest });
    expect(manifests.currentVersion('default.nobody')).toBeUndefined();
  });
});
