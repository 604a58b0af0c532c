import type { Core } from '../../create-core.js';
import { WASM_APP } from '../../../test/fixtures/margo.js';
import { addEnrolledNodes, startTestCore } from '../../../test/helpers/core.js';

/**
 * A core with the MMI on, the hello-wasm app in each of `versions`, and `nodes` enrolled with their
 * capabilities at site `plant`: what the rollout tests drive through the real engine, SQLite, git and the
 * LO's manifests.
 */
export async function startRolloutCore(nodes: readonly string[], versions: readonly string[] = ['1.0.0']) {
  const t = await startTestCore({ overrides: { mmi: { enabled: true } } });
  try {
    const c = t.core.client();
    for (const v of versions)
      await c.apps.add({
        source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP(v) } },
      });
    await c.sites.add({ id: 'plant' });
    await addEnrolledNodes(t.core, nodes, 'plant');
  } catch (err) {
    await t.stop();
    throw err;
  }
  return t;
}

/** What node `node`'s manifest lists for deployment `id` now (undefined: nothing). */
export function served(core: Core, node: string, id: string) {
  const m = core.lo.manifests.current(`default.${node}`);
  if (!m) return undefined;
  const json = JSON.parse(m.bytes.toString()) as {
    manifestVersion: number;
    deployments: { deploymentId: string; digest: string }[];
  };
  const e = json.deployments.find((d) => d.deploymentId === id);
  return e ? { digest: e.digest, manifestVersion: json.manifestVersion } : undefined;
}

/**
 * A node's status report fed in-process exactly as the MMI backend hands it over (the digest of the YAML
 * the node was served); not waited for, so several make a burst. `extra` dates it (`eventAt`) or marks it
 * as forwarded over the bus (`origin`).
 */
export function reportStatus(
  core: Core,
  node: string,
  id: string,
  state: 'installing' | 'installed' | 'failed',
  extra: { eventAt?: number; origin?: { key: string; seq: number } } = {},
): 'created' | 'updated' | 'duplicate' {
  const s = served(core, node, id);
  if (!s) throw new Error(`${node} was not served deployment ${id}`);
  return core.deploy.recordStatus({
    clientId: `default.${node}`,
    status: {
      deploymentId: id,
      adoptedManifestVersion: s.manifestVersion,
      status: { state },
      components: [{ name: 'hello', state }],
    },
    digest: s.digest,
    receivedAt: Date.now(),
    ...extra,
  });
}
