import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentPaths } from '../../agents/node/home.js';
import { saveIdentity } from '../../agents/node/identity.js';
import { SecurityEvent } from '../../agents/node/security.js';
import { clientSpiffeId, wfmSpiffeId } from '../../lib/identity/index.js';
import { createSiteCa, type SiteCa } from '../../core/ca/index.js';
import { issueTestSvid } from '../../core/mmi/testing/memory-fixture.js';
import { edgectl } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { startFakeMmi, startTamperingProxy, type FakeMmi } from '../fixtures/agent/fake-mmi.js';
import {
  compileHello,
  startAgentProcess,
  wasmOutputs,
  wasmRunnerPids,
  wasmWorkloadRuns,
  writeAgentConfig,
  type AgentProcess,
} from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The agent against a hostile WFM (real mutual TLS, certificates from a real site CA, a real registry
 * behind a proxy that can corrupt one blob): wrong sizeBytes are accepted (advisory); a YAML, a bundle
 * or an OCI blob that does not match its digest, and a manifestVersion that does not increase, are
 * refused as security events while the running workload and the adopted state stay as they were; a
 * server presenting another WFM's SPIFFE ID is refused before any request is sent.
 */
describe('edge agent: hostile desired state and a wrong LO identity', () => {
  const TD = 'neg.example';
  const agentHome = tempHome('outpost-agentn-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-agentn-'));
  let ca: SiteCa;
  let fake: FakeMmi;
  let registry: TestRegistry;
  let proxy: { host: string; close(): Promise<void> };
  let tamper: string | undefined;
  let agent: AgentProcess | undefined;
  const A = randomUUID();
  const B = randomUUID();
  const C = randomUUID();

  const yaml = (id: string, name: string, version: string, greeting: string) => `id: ${id}
metadata:
  name: ${name}
  namespace: default
  deviceId: edge-neg
spec:
  applicationId: hello-wasm
  deploymentProfile:
    type: custom
    components:
      - name: hello
        properties:
          repository: oci://${proxy.host}/samples/hello-wasm
          revision: ${version}
    x-outpost-extensions:
      runtime: wasm
  parameters:
    greeting:
      value: ${greeting}
      targets:
        - pointer: GREETING
          components: [hello]
`;
  const state = () =>
    JSON.parse(fs.readFileSync(path.join(agentHome.home, 'state.json'), 'utf8')) as {
      manifestVersion: number;
      etag: string;
      deployments: Record<string, { digest: string; reported?: { state: string } }>;
    };
  const security = (msg: string) => agent!.logs().filter((l) => l.msg === msg);
  const lastStatus = (id: string) =>
    [...fake.statuses].reverse().find((s) => s.deploymentId === id) as
      | {
          status: { state: string; error?: { code?: string } };
          components: { state: string; error?: { code?: string } }[];
          adoptedManifestVersion: number;
        }
      | undefined;
  /** Serves `m` and waits until the agent has fetched it at least twice (so a refusal is stable). */
  const offer = async (m: Parameters<FakeMmi['set']>[0]) => {
    await fake.set(m);
    const seen = fake.requests.length;
    await waitFor(
      () => fake.requests.slice(seen).filter((r) => r === 'GET /api/v1/deployments').length >= 2,
      { what: 'two polls', intervalMs: 100 },
    );
  };

  beforeAll(async () => {
    ca = await createSiteCa({ trustDomain: TD, name: 'Negative test CA', now: Date.now() - 86_400_000 });
    const wfm = await issueTestSvid(ca, wfmSpiffeId(TD, 'lo-neg'));
    fake = await startFakeMmi({ certPem: wfm.certPem, keyPem: wfm.keyPem, caPem: ca.certPem });
    registry = await startRegistry();
    proxy = await startTamperingProxy(registry.url, () => tamper);
    for (const v of ['1.0.0', '1.1.0']) {
      const f = await compileHello(`negative test v${v}`, work, `neg-${v}`);
      const r = await edgectl([
        'oci',
        'push',
        f,
        `oci://${registry.host}/samples/hello-wasm:${v}`,
        '--plain-http',
      ]);
      expect(r.code, r.stderr).toBe(0);
    }
    // The operator provisions the node's SVID out of band (Margo rc.3), here straight from the site CA.
    const client = await issueTestSvid(ca, clientSpiffeId(TD, 'lo-neg', 'default.edge-neg'));
    saveIdentity(agentPaths(agentHome.home), {
      enrollment: {
        clientId: 'default.edge-neg',
        spiffeId: clientSpiffeId(TD, 'lo-neg', 'default.edge-neg'),
        wfmSpiffeId: wfmSpiffeId(TD, 'lo-neg'),
        mmiUrl: fake.url,
        siteId: 'neg',
        nodeName: 'edge-neg',
        tenantId: 'default',
        caFingerprint: ca.fingerprint,
        notAfter: Date.now() + 86_400_000,
        enrolledAt: Date.now(),
      },
      certPem: client.certPem,
      keyPem: client.keyPem,
      anchorsPem: [ca.certPem],
    });
    writeAgentConfig(agentHome.home, {
      runtimes: { container: { enabled: false }, compose: { enabled: false }, helm: { enabled: false } },
    });
  });

  afterAll(async () => {
    await agent?.stop();
    for (const pid of wasmRunnerPids(agentHome.home)) process.kill(pid, 'SIGKILL');
    await fake?.close();
    await proxy?.close();
    await registry?.stop();
    agentHome.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('accepts wrong sizeBytes (advisory): the bundle and the YAML are used and the app runs', async () => {
    await fake.set({
      manifestVersion: 1,
      deployments: [{ deploymentId: A, yaml: yaml(A, 'app-a', '1.0.0', 'a'), sizeBytes: 3 }],
      bundleSizeBytes: 1,
    });
    agent = startAgentProcess(agentHome.home);
    await waitFor(() => lastStatus(A)?.status.state === 'installed', {
      what: 'A installed',
      intervalMs: 100,
    });
    expect(lastStatus(A)!.adoptedManifestVersion).toBe(1);
    expect(state().manifestVersion).toBe(1);
    await waitFor(() => wasmOutputs(agentHome.home).includes('negative test v1.0.0'), {
      what: 'A output',
      intervalMs: 100,
    });
    expect(fake.capabilities).toHaveLength(1);
  });

  it('refuses a manifestVersion that does not increase, as a security event, keeping its state', async () => {
    await offer({
      manifestVersion: 2,
      deployments: [
        { deploymentId: A, yaml: yaml(A, 'app-a', '1.0.0', 'a') },
        { deploymentId: B, yaml: yaml(B, 'app-b', '1.0.0', 'b') },
      ],
    });
    await waitFor(() => lastStatus(B)?.status.state === 'installed', {
      what: 'B installed',
      intervalMs: 100,
    });
    const before = state();
    const pids = wasmRunnerPids(agentHome.home);
    expect(pids).toHaveLength(1);
    const runs = wasmWorkloadRuns(agentHome.home);
    expect(runs.map((r) => r.state)).toEqual(['running', 'running']);
    // Version 1 again, now without B: a rollback. It must not remove B.
    await offer({
      manifestVersion: 1,
      deployments: [{ deploymentId: A, yaml: yaml(A, 'app-a', '1.0.0', 'a') }],
    });
    expect(security(SecurityEvent.manifestVersionNotIncreasing)).toHaveLength(1);
    expect(security(SecurityEvent.manifestVersionNotIncreasing)[0]).toMatchObject({ offered: 1, adopted: 2 });
    expect(state()).toMatchObject({ manifestVersion: 2, etag: before.etag });
    expect(Object.keys(state().deployments).sort()).toEqual([A, B].sort());
    expect(wasmRunnerPids(agentHome.home)).toEqual(pids);
    expect(wasmWorkloadRuns(agentHome.home)).toEqual(runs);
    expect(
      fake.statuses.some((s) => s.deploymentId === B && (s.status as { state: string }).state === 'removing'),
    ).toBe(false);
  });

  it('refuses a YAML whose bytes do not match the digest, keeping the previous state', async () => {
    const events = security(SecurityEvent.digestMismatch).length;
    const good = yaml(C, 'app-c', '1.0.0', 'c');
    await offer({
      manifestVersion: 3,
      deployments: [
        { deploymentId: A, yaml: yaml(A, 'app-a', '1.0.0', 'a') },
        { deploymentId: B, yaml: yaml(B, 'app-b', '1.0.0', 'b') },
        { deploymentId: C, yaml: good, serve: good.replace('value: c', 'value: evil') },
      ],
    });
    expect(fake.requests.some((r) => r.startsWith(`GET /api/v1/deployments/${C}/`))).toBe(true);
    expect(security(SecurityEvent.digestMismatch).length).toBeGreaterThan(events);
    expect(security(SecurityEvent.digestMismatch).at(-1)).toMatchObject({
      what: 'deployment YAML',
      deploymentId: C,
    });
    expect(state().manifestVersion).toBe(2);
    expect(state().deployments[C]).toBeUndefined();
    expect(fake.statuses.some((s) => s.deploymentId === C)).toBe(false);
    expect(wasmOutputs(agentHome.home)).not.toContain('evil');
  });

  it('refuses a bundle that does not match its digest, or lacks a listed YAML', async () => {
    // Fresh deployments: C's YAML, refused above for the bytes served, is served right now, and a poll
    // of the previous manifest still in flight when this one is set would fetch and adopt it.
    const D = randomUUID();
    const E = randomUUID();
    for (const bundle of ['tampered', 'missing-entry'] as const) {
      const events = security(SecurityEvent.digestMismatch).length;
      // Two new deployments out of three: the agent takes the bundle.
      await offer({
        manifestVersion: 4,
        deployments: [
          { deploymentId: A, yaml: yaml(A, 'app-a', '1.0.0', 'a') },
          { deploymentId: E, yaml: yaml(E, 'app-e', '1.0.0', 'e') },
          { deploymentId: D, yaml: yaml(D, 'app-d', '1.0.0', 'd') },
        ],
        bundle,
      });
      expect(fake.requests.some((r) => r.startsWith('GET /api/v1/bundles/'))).toBe(true);
      expect(security(SecurityEvent.digestMismatch).length).toBeGreaterThan(events);
      expect(security(SecurityEvent.digestMismatch).at(-1)).toMatchObject({ what: 'bundle' });
      expect(state().manifestVersion).toBe(2);
      expect(Object.keys(state().deployments).sort()).toEqual([A, B].sort());
    }
  });

  it('refuses an OCI blob that does not match its digest: the update fails, the old version keeps running', async () => {
    const pids = wasmRunnerPids(agentHome.home);
    const manifest = JSON.parse(
      (await fetch(`${registry.url}/v2/samples/hello-wasm/manifests/1.1.0`, {
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      }).then((r) => r.text())) as string,
    ) as { layers: { digest: string }[] };
    tamper = manifest.layers[0]!.digest;
    await fake.set({
      manifestVersion: 5,
      deployments: [
        { deploymentId: A, yaml: yaml(A, 'app-a', '1.1.0', 'a') },
        { deploymentId: B, yaml: yaml(B, 'app-b', '1.0.0', 'b') },
      ],
    });
    await waitFor(() => lastStatus(A)?.status.state === 'failed', { what: 'A failed', intervalMs: 100 });
    const st = lastStatus(A)!;
    expect(st.adoptedManifestVersion).toBe(5);
    expect(st.components[0]!.error?.code).toBe('oci/digest-mismatch');
    expect(security(SecurityEvent.artifactDigestMismatch).length).toBeGreaterThan(0);
    // The manifest itself was fine: it is adopted; the running version stays.
    expect(state().manifestVersion).toBe(5);
    expect(wasmRunnerPids(agentHome.home)).toEqual(pids);
    expect(wasmOutputs(agentHome.home)).not.toContain('negative test v1.1.0');
    // Once the registry serves the right bytes again, the retry installs the update.
    tamper = undefined;
    await waitFor(
      () => lastStatus(A)?.status.state === 'installed' && lastStatus(A)!.adoptedManifestVersion === 5,
      { what: 'A updated', intervalMs: 100 },
    );
    await waitFor(() => wasmOutputs(agentHome.home).includes('negative test v1.1.0'), {
      what: 'A v1.1.0 output',
      intervalMs: 100,
    });
  });

  it('refuses an LO presenting another WFM identity; an agent restart leaves healthy workloads alone', async () => {
    const pids = wasmRunnerPids(agentHome.home);
    const runs = wasmWorkloadRuns(agentHome.home);
    // Stopped first: a failed expectation must not leave this agent holding the home for the next test.
    await agent!.stop();
    expect(pids).toHaveLength(1);
    expect(runs.map((r) => r.state)).toEqual(['running', 'running']);
    // Same CA, but the SVID of another WFM: the chain is valid, the SPIFFE ID is not ours.
    const other = await issueTestSvid(ca, wfmSpiffeId(TD, 'other-wfm'));
    const impostor = await startFakeMmi({ certPem: other.certPem, keyPem: other.keyPem, caPem: ca.certPem });
    try {
      await impostor.set({ manifestVersion: 9, deployments: [] });
      agent = startAgentProcess(agentHome.home, {}, ['--lo', impostor.url]);
      const ev = await agent.waitForLog(
        (l) => l.msg === SecurityEvent.wrongServerIdentity,
        'the security event',
      );
      expect(String(ev.reason)).toContain('other-wfm');
      await waitFor(() => impostor.connections >= 2, { what: 'a second attempt', intervalMs: 100 });
      expect(impostor.requests).toEqual([]);
      expect(state().manifestVersion).toBe(5);
      // Nothing was restarted by the agent restart.
      expect(wasmRunnerPids(agentHome.home)).toEqual(pids);
      expect(wasmWorkloadRuns(agentHome.home)).toEqual(runs);
      expect(agent.stderr()).not.toMatch(/PRIVATE KEY|BEGIN CERT/);
    } finally {
      await agent?.stop();
      agent = undefined;
      await impostor.close();
    }
  });

  it('refuses an LO whose certificate chains to another CA (same SPIFFE ID)', async () => {
    const otherCa = await createSiteCa({ trustDomain: TD, name: 'Another CA', now: Date.now() - 86_400_000 });
    const twin = await issueTestSvid(otherCa, wfmSpiffeId(TD, 'lo-neg'));
    const impostor = await startFakeMmi({
      certPem: twin.certPem,
      keyPem: twin.keyPem,
      caPem: otherCa.certPem,
    });
    try {
      await impostor.set({ manifestVersion: 9, deployments: [] });
      agent = startAgentProcess(agentHome.home, {}, ['--lo', impostor.url]);
      const ev = await agent.waitForLog(
        (l) => l.msg === SecurityEvent.wrongServerIdentity,
        'the security event',
      );
      expect(String(ev.reason)).toMatch(/certificate|verify|issuer/i);
      await waitFor(() => impostor.connections >= 2, { what: 'a second attempt', intervalMs: 100 });
      expect(impostor.requests).toEqual([]);
      expect(state().manifestVersion).toBe(5);
    } finally {
      await agent?.stop();
      agent = undefined;
      await impostor.close();
    }
  });
});
