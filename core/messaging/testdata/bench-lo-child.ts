// The LO side of bench/nats-presence.bench.ts, in its own process so its CPU and memory can be measured
// apart from the simulated agents: the service connection, the site's upward stream and the presence
// tracker (with its KV bucket), plus the poll-now fan-out. Commands arrive over IPC.
import fs from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { silentLogger } from '../../../lib/log/index.js';
import { systemClock } from '../../../lib/base/index.js';
import { connectService } from '../topology.js';
import { ensureSiteUpStream } from '../streams.js';
import { createPresenceTracker } from '../presence-tracker.js';
import { nodeSubject } from '../../../lib/bus/index.js';

interface Args {
  url: string;
  seed: string;
  siteId: string;
  nodesFile: string;
  heartbeatSeconds: number;
  staleAfterSeconds: number;
  offlineAfterSeconds: number;
}

const args = JSON.parse(process.argv[2]!) as Args;
const nodeUids = JSON.parse(fs.readFileSync(args.nodesFile, 'utf8')) as string[];
const subjects = nodeUids.map((u) => nodeSubject(args.siteId, u, 'notify'));
const nc = await connectService({ url: args.url, seed: args.seed, name: 'bench-lo' });
await ensureSiteUpStream(await jetstreamManager(nc), args.siteId);
const tracker = createPresenceTracker({
  nc,
  siteId: args.siteId,
  thresholds: { staleAfterSeconds: args.staleAfterSeconds, offlineAfterSeconds: args.offlineAfterSeconds },
  knownNodes: () => nodeUids,
  clock: systemClock,
  logger: silentLogger(),
  heartbeatSeconds: args.heartbeatSeconds,
});
await tracker.start();

process.on('message', (m: { cmd: string; round?: number }) => {
  void (async () => {
    if (m.cmd === 'stats') {
      process.send!({ cmd: 'stats', counts: tracker.counts(), received: tracker.received() });
    } else if (m.cmd === 'fanout') {
      const start = process.hrtime.bigint();
      for (const s of subjects) nc.publish(s, `{"at":${Date.now()},"reason":"bench","t":"${process.hrtime.bigint()}","r":${m.round}}`);
      await nc.flush();
      process.send!({ cmd: 'fanout', round: m.round, sendNs: String(process.hrtime.bigint() - start) });
    } else if (m.cmd === 'stop') {
      await tracker.stop();
      await nc.close();
      process.exit(0);
    }
  })();
});
process.send!({ cmd: 'ready' });
