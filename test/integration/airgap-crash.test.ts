import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createHttpTransport, contract } from '../../lib/contract/index.js';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { startTestCore } from '../helpers/core.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient } from '../helpers/mmi-client.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { capabilitiesFor } from '../fixtures/margo.js';
import { compileHello, wasmApp } from '../fixtures/agent/harness.js';
import { waitJob } from '../../core/bundle/testing/pair.js';
import { waitFor } from '../helpers/wait.js';

/**
 * kill -9 of a site's LO at named points of a bundle import (issue 13): after staging (before anything
 * changed), during the site registry writes (a blob adopted; the manifests and tags committed), during
 * the git update (the pack in the mirror; the ref moved), and right after the database commit. The next
 * start leaves the site exactly as before the import or exactly as after it, never in between: the
 * sequence, the desired state the LO serves, the applications, the mirror's ref, the registry's blobs
 * and tags, and the journal all agree.
 */

const apiOf = (s: ServerProcess) =>
  createClient(
    contract,
    createHttpTransport({ baseUrl: s.info.url, token: s.info.token, timeoutMs: 30_000 }),
  );

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** What an import changes at a site, read from a stopped server's home. */
function project(home: string) {
  const db = new Database(path.join(home, 'outpost.db'), { readonly: true });
  try {
    const q = (sql: string) => db.prepare(sql).all();
    const tagDir = path.join(home, 'registry', 'repositories');
    const refFile = path.join(home, 'git', 'mirrors', 'default', '.git', 'refs', 'heads', 'main');
    return {
      sequence: q(`SELECT last_imported_sequence AS s FROM bundle_streams WHERE kind = 'hq-to-site'`),
      adopted: q('SELECT "commit" FROM lo_sources ORDER BY tenant_id'),
      served: q(
        'SELECT client_id AS c, deployment_id AS d FROM lo_client_deployments WHERE until_version IS NULL ORDER BY 1, 2',
      ),
      apps: q('SELECT app_id AS a, version AS v, digest FROM app_versions ORDER BY 1, 2'),
      journal: q('SELECT state FROM bundle_imports ORDER BY started_at'),
      mirrorRef: fs.existsSync(refFile) ? fs.readFileSync(refFile, 'utf8').trim() : null,
      tags: files(tagDir).filter((f) => f.includes('/_manifests/tags/')),
      blobs: files(path.join(home, 'registry', 'blobs')),
      staging: files(path.join(home, 'bundles', 'staging')),
    };
  } finally {
    db.close();
  }
}

describe('kill -9 during a bundle import', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-airgap-crash-'));
  const template = tempHome('outpost-site-template-');
  const homes: string[] = [];
  let origin: TestRegistry;
  let hq: Awaited<ReturnType<typeof startTestCore>>;
  let bundleFile = '';
  let before: ReturnType<typeof project>;
  let after: ReturnType<typeof project>;
  const running = new Set<ServerProcess>();

  const copyOfTemplate = (name: string) => {
    const home = path.join(work, name);
    fs.cpSync(template.home, home, { recursive: true });
    homes.push(home);
    return home;
  };
  const start = async (home: string, env: NodeJS.ProcessEnv = {}) => {
    const s = await startServer(home, [], env);
    running.add(s);
    return s;
  };
  const stop = async (s: ServerProcess) => {
    await s.stop();
    running.delete(s);
  };

  beforeAll(async () => {
    origin = await startRegistry();
    const wasm = await compileHello('hello after a crash', work, 'hello');
    const pushed = await edgectl(['oci', 'push', wasm, `${origin.host}/samples/hello:1.0.0`, '--plain-http']);
    expect(pushed.code, pushed.stderr).toBe(0);
    hq = await startTestCore({ overrides: { role: 'co', airgap: { drives: { enabled: false } } } });
    const h = hq.core.client();

    // The site: a headless LO in its own home, one node enrolled, trust exchanged with HQ.
    fs.writeFileSync(
      path.join(template.home, 'config.yaml'),
      stringify({
        role: 'lo',
        site: { id: 'plant-1', name: 'Plant 1' },
        nats: { enabled: false },
        airgap: { drives: { enabled: false } },
      }),
    );
    const site = await start(template.home);
    const s = apiOf(site);
    const hqPub = path.join(work, 'hq.pub');
    fs.writeFileSync(hqPub, (await h.bundle.exportKey({})).publicKey);
    const trusted = await edgectl(['bundle', 'trust', 'add', hqPub, '--name', 'hq', '--home', template.home]);
    expect(trusted.code, trusted.stderr).toBe(0);
    await h.sites.add({ id: 'plant-1', airGapped: true });
    await h.bundle.trustAdd({ publicKey: (await s.bundle.exportKey({})).publicKey, siteId: 'plant-1' });
    const t = await s.identity.createEnrollToken({ node: 'edge-1', siteId: 'plant-1', ttlMinutes: 10 });
    const e = await enrollOverMmi(site.info.mmiUrl!, t);
    const mmi = createMmiClient({ baseUrl: site.info.mmiUrl!, ...e });
    expect((await mmi.put('/api/v1/capabilities/edge-1', capabilitiesFor('edge-1'))).status).toBe(201);
    mmi.close();
    const st = await waitJob(s, await s.bundle.exportStatus({ out: work }));
    expect(st.error).toBeNull();
    expect((await waitJob(h, await h.bundle.import({ file: st.result!.file! }))).error).toBeNull();
    await stop(site);

    // HQ deploys and writes the bundle the site will import.
    const app = wasmApp({ id: 'hello', version: '1.0.0', repository: `oci://${origin.host}/samples/hello` });
    await h.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: app } } });
    await h.deployments.create({ appId: 'hello', target: { siteId: 'plant-1' } });
    const b = await waitJob(h, await h.bundle.export({ siteId: 'plant-1', out: work }));
    expect(b.error).toBeNull();
    bundleFile = b.result!.file!;

    before = project(template.home);
    // The reference "after": the same import, uninterrupted.
    const clean = await start(copyOfTemplate('clean'));
    const c = apiOf(clean);
    expect((await waitJob(c, await c.bundle.import({ file: bundleFile }))).error).toBeNull();
    await stop(clean);
    after = project(clean.home);
    expect(after).not.toEqual(before);
    expect(after.sequence).toEqual([{ s: 1 }]);
    expect(after.tags).toHaveLength(1);
    expect(after.served).toHaveLength(1);
    expect(after.mirrorRef).toMatch(/^[0-9a-f]{40}$/);
  }, 300_000);

  afterAll(async () => {
    for (const s of running) await s.stop('SIGKILL');
    await hq?.stop();
    await origin?.stop();
    template.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it.each([
    ['after-staging', 'before'],
    ['registry-blob', 'after'],
    ['registry-manifests', 'after'],
    ['git-objects', 'after'],
    ['after-commit', 'after'],
    ['git-ref', 'after'],
  ] as const)(
    'killed at %s, the next start leaves the site %s the import',
    async (point, expected) => {
      const home = copyOfTemplate(point);
      const doomed = await start(home, { OUTPOST_FAILPOINT: point });
      await apiOf(doomed).bundle.import({ file: bundleFile });
      await waitFor(() => doomed.child.exitCode !== null || doomed.child.signalCode !== null, {
        what: 'the server to die at its failpoint',
        timeoutMs: 60_000,
      });
      running.delete(doomed);
      expect(doomed.child.signalCode).toBe('SIGKILL');
      expect(doomed.stderr()).toContain(`failpoint ${point}`);

      // The next start: finished, or never begun; never in between.
      const next = await start(home);
      await stop(next);
      const state = project(home);
      expect(state).toEqual(expected === 'before' ? before : after);

      // Running the import again finishes it (before), or says it was done (after).
      const again = await start(home);
      const a = apiOf(again);
      const j = await waitJob(a, await a.bundle.import({ file: bundleFile }));
      await stop(again);
      if (expected === 'before') expect(j.error).toBeNull();
      else expect(j.error?.code).toBe('bundle/replay');
      expect(project(home)).toEqual(after);
    },
    180_000,
  );
});
