/**
 * The MMI poll path (issue 18, first two rows): `GET /api/v1/deployments` answered 304 over mutual TLS with
 * one request in flight, by the real `edgectl server` (LO backend, SQLite, an enrolled node with its own
 * SVID) and by a bare node:https server with the same certificates answering 304 (bench/lib/bare-https-304.mjs),
 * alternating in the same run. Three ways of connecting: one kept connection; a new connection per poll
 * with a full handshake; a new connection per poll resuming the TLS session. Per way: polls per second and
 * the server's CPU time per poll (from /proc), Outpost beside the baseline and their ratio.
 * Writes bench/results/mmi-poll.json.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../test/helpers/cli.js';
import { tempHome } from '../test/helpers/home.js';
import { seedLoHome } from './lib/lo-home.js';
import { startBare, type BareProcess } from './lib/bare.js';
import { cpuMsOf, figure, median, round2, round3, writeResult } from './lib/measure.js';
import { poll, pollAgent, pollFor, type ConnectionMode, type PollTarget } from './lib/poll-client.js';

const ROUNDS = Number(process.env.OUTPOST_BENCH_ROUNDS ?? 3);
const WINDOW_MS = Number(process.env.OUTPOST_BENCH_WINDOW_MS ?? 3000);
const MODES: ConnectionMode[] = ['keep-alive', 'full-handshake', 'resumed'];

const home = tempHome('outpost-bench-mmi-');
let server: ServerProcess | undefined;
let bare: BareProcess | undefined;

afterAll(async () => {
  await bare?.stop();
  await server?.stop();
  home.cleanup();
});

it('MMI poll: Outpost against a bare HTTPS 304 server', async () => {
  const seeded = await seedLoHome({ home: home.home, nodes: 1 });
  server = await startServer(home.home);
  const node = seeded.nodes[0]!;
  const outpost: PollTarget = {
    url: server.info.mmiUrl!,
    certPem: node.certPem,
    keyPem: node.keyPem,
    anchorsPem: [seeded.ca.certPem],
  };
  const first = await poll(outpost, pollAgent(outpost, 'full-handshake'), undefined);
  expect(first.status).toBe(200);
  const etag = first.etag!;

  const wfm = path.join(home.home, 'pki', 'wfm');
  bare = await startBare('bare-https-304.mjs', {
    cert: fs.readFileSync(path.join(wfm, 'cert.pem'), 'utf8') + seeded.ca.certPem,
    key: fs.readFileSync(path.join(wfm, 'key.pem'), 'utf8'),
    ca: seeded.ca.certPem,
    etag,
  });
  const baseline: PollTarget = { ...outpost, url: `https://127.0.0.1:${bare.port}` };

  type Sample = { rate: number; cpuMsPerPoll: number; resumedShare: number };
  const samples: Record<string, { outpost: Sample[]; baseline: Sample[] }> = {};
  const measure = async (t: PollTarget, pid: number, mode: ConnectionMode): Promise<Sample> => {
    const cpu0 = cpuMsOf(pid);
    const r = await pollFor(t, mode, etag, WINDOW_MS);
    const cpu = cpuMsOf(pid) - cpu0;
    return {
      rate: r.polls / r.seconds,
      cpuMsPerPoll: cpu / r.polls,
      resumedShare: r.resumed / r.polls,
    };
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      const s = (samples[mode] ??= { outpost: [], baseline: [] });
      // Alternate which goes first, so drifting load favours neither.
      if (round % 2 === 0) {
        s.outpost.push(await measure(outpost, server.info.pid, mode));
        s.baseline.push(await measure(baseline, bare.pid, mode));
      } else {
        s.baseline.push(await measure(baseline, bare.pid, mode));
        s.outpost.push(await measure(outpost, server.info.pid, mode));
      }
    }
  }

  const med = (xs: Sample[], k: keyof Sample) => median(xs.map((x) => x[k]));
  const figures = MODES.flatMap((mode) => {
    const s = samples[mode]!;
    const label = {
      'keep-alive': 'MMI 304 over mutual TLS, one kept connection, 1 in flight',
      'full-handshake': 'MMI 304, a new connection with a full mutual-TLS handshake per poll',
      resumed: 'MMI 304, a new connection per poll resuming the TLS session',
    }[mode];
    return [
      figure({
        figure: `${label}: polls per second`,
        unit: 'polls/s',
        outpost: Math.round(med(s.outpost, 'rate')),
        baseline: Math.round(med(s.baseline, 'rate')),
        baselineIs: 'bare node:https server, same certificates, answering 304',
        higherIsBetter: true,
        ...(mode === 'keep-alive'
          ? { goal: '>= 0.6', goalRatio: 0.6 }
          : mode === 'full-handshake'
            ? { goal: '>= 0.8', goalRatio: 0.8 }
            : {}),
        samples: {
          outpost: s.outpost.map((x) => Math.round(x.rate)),
          baseline: s.baseline.map((x) => Math.round(x.rate)),
        },
      }),
      figure({
        figure: `${label}: server CPU per poll`,
        unit: 'ms',
        outpost: round3(med(s.outpost, 'cpuMsPerPoll')),
        baseline: round3(med(s.baseline, 'cpuMsPerPoll')),
        baselineIs: 'bare node:https server, same certificates, answering 304',
        samples: {
          outpost: s.outpost.map((x) => round3(x.cpuMsPerPoll)),
          baseline: s.baseline.map((x) => round3(x.cpuMsPerPoll)),
        },
      }),
    ];
  });
  const resumed = samples.resumed!;
  writeResult('mmi-poll', {
    note: `medians of ${ROUNDS} alternating windows of ${WINDOW_MS} ms; server CPU from /proc (10 ms ticks); the client runs in the bench process on the same 2 cores`,
    sessionsResumed: {
      outpost: round2(med(resumed.outpost, 'resumedShare')),
      baseline: round2(med(resumed.baseline, 'resumedShare')),
    },
    figures,
  });
  for (const f of figures) expect(f.outpost).toBeGreaterThan(0);
});
