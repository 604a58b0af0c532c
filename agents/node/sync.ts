import { createHash } from 'node:crypto';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { parseStateManifest } from '../../lib/margo/index.js';
import type { StateManifest } from '../../lib/model/index.js';
import { readBundle } from '../margo/bundle.js';
import type { MmiClient } from '../margo/mmi-client.js';
import { isProblem } from '../margo/problem.js';
import { securityEvent } from './security.js';
import type { DeploymentRecord, StateStore } from './state.js';

/**
 * One poll of the desired state (Margo client algorithm, the Margo specification; ADR 0262):
 *
 * 1. `GET /api/v1/deployments` with `If-None-Match`; a 304 changes nothing.
 * 2. A manifest whose `manifestVersion` is not greater than the adopted one is refused and logged as a
 *    security event (so is an invalid one, e.g. a digest that is not sha256).
 * 3. The YAML files not yet held are fetched, individually or as the bundle (initial sync, or most of
 *    them new), and every digest is verified against the exact bytes; any mismatch (and a bundle that
 *    lacks a listed file) refuses the whole manifest and keeps the previous desired state. A 404 is not a
 *    removal: the poll fails and is tried again.
 * 4. Only then are the YAML files stored and `manifestVersion`, the ETag and the desired deployments
 *    written (atomically); the reconciler acts on what was written. `sizeBytes` is advisory and ignored.
 */

export type PollResult =
  | { kind: 'unchanged' }
  | { kind: 'adopted'; manifestVersion: number; changed: string[] }
  | { kind: 'refused'; reason: 'version' | 'digest' | 'invalid' };

export interface SyncDeps {
  client: MmiClient;
  store: StateStore;
  logger: Logger;
  clock: Clock;
}

const MAX_YAML_BYTES = 1024 * 1024;
const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class DesiredStateSync {
  private readonly log: Logger;
  /** The ETag of the last refused manifest (logged once). */
  private refusedEtag: string | undefined;
  /**
   * A manifest refused for its version or form is sent along in If-None-Match, so it is not fetched and
   * refused again on every poll (a digest mismatch is fetched again: the LO may repair its content).
   */
  private skipEtag: string | undefined;

  constructor(private readonly d: SyncDeps) {
    this.log = d.logger.child({ component: 'agent-sync' });
  }

  async poll(signal?: AbortSignal): Promise<PollResult> {
    const { client, store, clock } = this.d;
    const state = store.get();
    const tags = [state.etag, this.skipEtag].filter((t): t is string => !!t);
    const res = await client.getManifest(tags.length ? tags.join(', ') : undefined, signal);
    if (res.kind === 'not-modified') {
      // In sync only when it is the adopted manifest that did not change (not the refused one).
      if (!this.skipEtag) {
        store.update((s) => {
          s.lastSync = clock.now();
          delete s.lastError;
        });
      }
      return { kind: 'unchanged' };
    }
    const etag = res.etag ?? `"${sha256(res.bytes)}"`;
    if (etag === state.etag) {
      store.update((s) => {
        s.lastSync = clock.now();
        delete s.lastError;
      });
      return { kind: 'unchanged' };
    }
    let manifest: StateManifest;
    try {
      manifest = parseStateManifest(res.bytes);
    } catch (e) {
      return this.refuse('invalid', etag, 'manifestInvalid', { error: (e as Error).message.split('\n')[0] });
    }
    if (manifest.manifestVersion <= state.manifestVersion) {
      return this.refuse('version', etag, 'manifestVersionNotIncreasing', {
        offered: manifest.manifestVersion,
        adopted: state.manifestVersion,
      });
    }

    // Fetch what is not stored yet and verify every digest before anything is kept.
    const missing = manifest.deployments.filter((d) => !store.hasYaml(d.digest));
    const fetched = new Map<string, Buffer>();
    const useBundle =
      manifest.bundle !== null &&
      missing.length > 0 &&
      (Object.keys(state.deployments).length === 0 ||
        (missing.length > 1 && missing.length * 2 >= manifest.deployments.length));
    if (useBundle) {
      const r = await this.fromBundle(manifest, missing, fetched, signal);
      if (r) return this.refuse('digest', etag, 'digestMismatch', r);
    } else {
      for (const d of missing) {
        let bytes: Buffer;
        try {
          bytes = await client.getContent(d.url, `deployment ${d.deploymentId}`, MAX_YAML_BYTES, signal);
        } catch (e) {
          // 404: the WFM cannot serve these bytes now. Not a removal: try the bundle, else later.
          if (isProblem(e) && e.data.status === 404 && manifest.bundle) {
            const r = await this.fromBundle(manifest, [d], fetched, signal);
            if (r) return this.refuse('digest', etag, 'digestMismatch', r);
            continue;
          }
          throw e;
        }
        const actual = sha256(bytes);
        if (actual !== d.digest) {
          return this.refuse('digest', etag, 'digestMismatch', {
            deploymentId: d.deploymentId,
            what: 'deployment YAML',
            expected: d.digest,
            actual,
          });
        }
        fetched.set(d.digest, bytes);
      }
    }

    for (const [digest, bytes] of fetched) store.putYaml(digest, bytes);
    const now = clock.now();
    const mv = manifest.manifestVersion;
    const changed: string[] = [];
    const listed = new Set(manifest.deployments.map((d) => d.deploymentId));
    store.update((s) => {
      for (const d of manifest.deployments) {
        const r = s.deployments[d.deploymentId];
        if (r && r.desired && r.digest === d.digest) continue;
        changed.push(d.deploymentId);
        const next: DeploymentRecord = r
          ? { ...r, desired: true, digest: d.digest, adoptedManifestVersion: mv, failures: 0, updatedAt: now }
          : {
              deploymentId: d.deploymentId,
              name: '',
              desired: true,
              digest: d.digest,
              adoptedManifestVersion: mv,
              workloads: [],
              failures: 0,
              updatedAt: now,
            };
        delete next.retryAt;
        s.deployments[d.deploymentId] = next;
      }
      for (const r of Object.values(s.deployments)) {
        if (r.desired && !listed.has(r.deploymentId)) {
          changed.push(r.deploymentId);
          r.desired = false;
          r.adoptedManifestVersion = mv;
          r.failures = 0;
          delete r.retryAt;
          r.updatedAt = now;
        }
      }
      s.manifestVersion = mv;
      s.etag = etag;
      s.manifestAdoptedAt = now;
      s.lastSync = now;
      delete s.lastError;
    });
    this.refusedEtag = undefined;
    this.skipEtag = undefined;
    store.pruneYaml(Object.values(store.get().deployments).map((r) => r.digest));
    this.log.info(
      { manifestVersion: mv, deployments: manifest.deployments.length, changed: changed.length },
      'desired state adopted',
    );
    return { kind: 'adopted', manifestVersion: mv, changed };
  }

  /** Fills `into` from the bundle; returns what is wrong when the bundle does not match the manifest. */
  private async fromBundle(
    manifest: StateManifest,
    wanted: StateManifest['deployments'],
    into: Map<string, Buffer>,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown> | undefined> {
    const b = manifest.bundle!;
    const bytes = await this.d.client.getContent(b.url, 'bundle', MAX_BUNDLE_BYTES, signal);
    const actual = sha256(bytes);
    if (actual !== b.digest) return { what: 'bundle', expected: b.digest, actual };
    let files: Map<string, Buffer>;
    try {
      files = await readBundle(bytes);
    } catch (e) {
      return { what: 'bundle', error: (e as Error).message };
    }
    for (const d of wanted) {
      const y = files.get(d.digest);
      if (!y)
        return {
          what: 'bundle',
          deploymentId: d.deploymentId,
          expected: d.digest,
          error: 'no file in the bundle has this digest',
        };
      into.set(d.digest, y);
    }
    return undefined;
  }

  private refuse(
    reason: 'version' | 'digest' | 'invalid',
    etag: string,
    event: 'manifestVersionNotIncreasing' | 'digestMismatch' | 'manifestInvalid',
    fields: Record<string, unknown>,
  ): PollResult {
    if (this.refusedEtag !== etag) securityEvent(this.log, event, { etag, ...fields });
    else this.log.debug({ etag }, 'the refused manifest is still served');
    this.refusedEtag = etag;
    if (reason !== 'digest') this.skipEtag = etag;
    return { kind: 'refused', reason };
  }
}
