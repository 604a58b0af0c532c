import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { manualClock, systemClock, type Clock } from '../../lib/base/index.js';
import { createSiteCa, type SiteCa } from '../../core/ca/index.js';
import { wfmSpiffeId } from '../../lib/identity/index.js';
import { issueTestSvid } from '../../core/mmi/testing/memory-fixture.js';
import type { AgentConfig } from '../../agents/node/config.js';
import { startFakeMmi, type FakeMmi } from '../fixtures/agent/fake-mmi.js';
import { type LogLine } from '../fixtures/agent/harness.js';
import { fastAgentConfig, startInProcessAgent, type InProcessAgent } from '../fixtures/agent/in-process.js';
import { waitFor } from '../helpers/wait.js';

/**
 * When the agent talks to the LO (Margo client settings and Retry-After), with the agent in this process
 * and a WFM over real mutual TLS: a 503/429 with Retry-After on the manifest, on the capabilities or on a
 * status report pauses that traffic for at least as long as the LO asked; inside a downtime window the
 * agent sends nothing at all, and it catches up once the window is over. Only lower bounds on waits are
 * asserted (a loaded machine can only make the agent later, never earlier).
 */
describe('edge agent: polling schedule, Retry-After and downtime', () => {
  const TD = 'sched.example';
  const MANIFEST = 'GET /api/v1/deployments';
  let ca: SiteCa;
  let fake: FakeMmi;
  let running: InProcessAgent | undefined;
  let logs: LogLine[] = [];

  const config = fastAgentConfig;
  const start = async (cfg: AgentConfig, clock: Clock = systemClock) => {
    running = await startInProcessAgent({
      ca,
      trustDomain: TD,
      wfmId: 'lo-sched',
      node: 'edge-s',
      mmiUrl: fake.url,
      config: cfg,
      clock,
    });
    logs = running.logs;
  };

  /** Arrival times of the requests that match, from index `from` of the fake's timeline. */
  const times = (pred: (r: string) => boolean, from = 0) =>
    fake.timeline
      .slice(from)
      .filter((t) => pred(t.request))
      .map((t) => t.at);

  beforeAll(async () => {
    ca = await createSiteCa({ trustDomain: TD, name: 'Schedule test CA', now: Date.now() - 86_400_000 });
    const wfm = await issueTestSvid(ca, wfmSpiffeId(TD, 'lo-sched'), Date.now() - 3_600_000);
    fake = await startFakeMmi({ certPem: wfm.certPem, keyPem: wfm.keyPem, caPem: ca.certPem });
  });

  afterEach(async () => {
    await running?.stop();
    running = undefined;
    fake.intercept = undefined;
  });

  afterAll(async () => {
    await fake?.close();
  });

  it('waits as long as Retry-After says after a 503 on the manifest, then polls at its interval again', async () => {
    await fake.set({ manifestVersion: 1, deployments: [] });
    const from = fake.timeline.length;
    let refused = 0;
    fake.intercept = (r) =>
      r === MANIFEST && refused++ === 0 ? { status: 503, retryAfter: 2, retryable: true } : undefined;
    await start(config());
    await waitFor(() => times((r) => r === MANIFEST, from).length >= 2, {
      what: 'a poll after the 503',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const [first, second] = times((r) => r === MANIFEST, from) as [number, number];
    // Without Retry-After the backoff (0.2 s to 0.4 s) would have polled again within half a second.
    expect(second - first).toBeGreaterThanOrEqual(1950);
    // Afterwards the normal interval applies again: several polls, no pause of two seconds.
    const seen = times((r) => r === MANIFEST, from).length;
    await waitFor(() => times((r) => r === MANIFEST, from).length >= seen + 3, {
      what: 'polls at the interval',
      intervalMs: 100,
    });
    expect(logs.some((l) => l.msg === 'poll failed' && String(l.err).includes('503'))).toBe(true);
  });

  it('holds the whole loop back when the capabilities are answered with 429 and Retry-After', async () => {
    await fake.set({ manifestVersion: 1, deployments: [] });
    const from = fake.timeline.length;
    let refused = 0;
    fake.intercept = (r) =>
      r.startsWith('PUT /api/v1/capabilities/') && refused++ === 0
        ? { status: 429, retryAfter: 2, retryable: true }
        : undefined;
    const accepted = fake.capabilities.length;
    await start(config());
    await waitFor(() => fake.capabilities.length > accepted, {
      what: 'the capabilities accepted',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const line = fake.timeline.slice(from);
    expect(line[0]!.request).toMatch(/^PUT \/api\/v1\/capabilities\/edge-s$/);
    // Nothing at all was sent in the pause the LO asked for, then the capabilities again before any poll.
    expect(line[1]!.request).toBe(line[0]!.request);
    expect(line[1]!.at - line[0]!.at).toBeGreaterThanOrEqual(1950);
    await waitFor(() => times((r) => r === MANIFEST, from).length >= 1, {
      what: 'the first poll',
      intervalMs: 100,
    });
  });

  it('keeps a status report queued for as long as Retry-After says, then delivers it', async () => {
    const id = randomUUID();
    // A deployment for another device: the node reports it failed (code 101) without any runtime.
    await fake.set({
      manifestVersion: 1,
      deployments: [
        {
          deploymentId: id,
          yaml: `id: ${id}
metadata:
  name: elsewhere
  namespace: default
  deviceId: another-device
spec:
  applicationId: hello-wasm
  deploymentProfile:
    type: compose
    components:
      - name: hello
        properties:
          repository: oci://127.0.0.1:9/x
          revision: 1.0.0
`,
        },
      ],
    });
    const from = fake.timeline.length;
    const statusPath = `POST /api/v1/deployments/${id}/status`;
    let refused = 0;
    fake.intercept = (r) =>
      r === statusPath && refused++ === 0 ? { status: 429, retryAfter: 2, retryable: true } : undefined;
    const delivered = fake.statuses.length;
    await start(config());
    await waitFor(() => fake.statuses.length > delivered, {
      what: 'the status report delivered',
      timeoutMs: 15_000,
      intervalMs: 100,
    });
    const [first, second] = times((r) => r === statusPath, from) as [number, number];
    expect(second - first).toBeGreaterThanOrEqual(1950);
    expect(fake.statuses.at(-1)).toMatchObject({
      deploymentId: id,
      adoptedManifestVersion: 1,
      status: { state: 'failed', error: { code: '101' } },
    });
  });

  it('sends nothing inside a downtime window and catches up when it ends', async () => {
    await fake.set({ manifestVersion: 1, deployments: [] });
    const clock = manualClock(Date.now());
    const hhmm = (ms: number) => {
      const d = new Date(ms);
      return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
    };
    // Local time, as an operator writes it; a window that crosses midnight wraps.
    const window = { start: hhmm(clock.now() - 5 * 60_000), end: hhmm(clock.now() + 10 * 60_000) };
    const connections = fake.connections;
    const from = fake.timeline.length;
    await start(config({ downtime: [window] }), clock);
    // Ten poll rounds pass (counted, not timed): not one connection, not one request.
    const skipped = () => logs.filter((l) => /poll skipped/.test(String(l.msg))).length;
    await waitFor(() => skipped() >= 10, {
      what: 'ten skipped poll rounds',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    expect(fake.connections).toBe(connections);
    expect(fake.timeline.length).toBe(from);
    expect(logs.filter((l) => l.level >= 40)).toEqual([]);

    clock.advance(20 * 60_000);
    await waitFor(() => times((r) => r === MANIFEST, from).length >= 1, {
      what: 'a poll after the downtime',
      intervalMs: 100,
    });
    expect(fake.timeline[from]!.request).toBe('PUT /api/v1/capabilities/edge-s');
  });
});
