import type { Store } from '../store/db.js';
import { parseApplicationDeployment } from '../../lib/margo/index.js';
import { parseReference } from '../../lib/oci/index.js';
import { siteRepository } from '../../lib/registry/index.js';
import type { GcRoot } from './gc.js';

/**
 * What deployments need from the site registry, as garbage collection roots (ADR 0420): every component
 * of every deployment YAML this server serves (the LO's current manifests) or tells a node to run (the
 * CO's present targets), under its site registry name (`<host>/<repository>`), or under its own name when
 * the reference already points at this registry (`ownHosts`).
 */
export function deploymentRoots(store: Store, ownHosts: ReadonlySet<string>): GcRoot[] {
  const yamls: Buffer[] = [];
  const q = (sql: string) => store.sqlite.prepare(sql).all() as { yaml: Buffer | null }[];
  for (const r of q("SELECT yaml FROM deployment_targets WHERE desired = 'present' AND yaml IS NOT NULL"))
    if (r.yaml) yamls.push(r.yaml);
  for (const r of q('SELECT yaml FROM lo_client_deployments WHERE until_version IS NULL'))
    if (r.yaml) yamls.push(r.yaml);

  const seen = new Set<string>();
  const roots: GcRoot[] = [];
  const add = (repository: string, reference: string) => {
    const k = `${repository}|${reference}`;
    if (seen.has(k)) return;
    seen.add(k);
    roots.push({ repository, reference });
  };
  const parsedYamls = new Set<string>();
  for (const y of yamls) {
    const text = y.toString('utf8');
    if (parsedYamls.has(text)) continue;
    parsedYamls.add(text);
    let components;
    try {
      components = parseApplicationDeployment(text).spec.deploymentProfile.components;
    } catch {
      continue; // not ours to judge here: the node reports it
    }
    for (const c of components) {
      const { repository, revision } = c.properties;
      if (!repository || !revision) continue;
      let ref;
      try {
        const base = repository.replace(/\/+$/, '');
        ref = parseReference(revision.startsWith('sha256:') ? `${base}@${revision}` : `${base}:${revision}`);
      } catch {
        continue;
      }
      const reference = ref.digest ?? ref.tag ?? 'latest';
      if (ownHosts.has(ref.registry.toLowerCase())) {
        add(ref.repository, reference);
        continue;
      }
      const mirrored = siteRepository(ref);
      if (mirrored) add(mirrored, reference);
    }
  }
  return roots;
}
