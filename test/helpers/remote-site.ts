import fs from 'node:fs';
import path from 'node:path';
import type { ConfigOverrides } from '../../core/config.js';
import { freePort } from '../../core/messaging/ports.js';
import { startTestCore } from './core.js';

export type TestCore = Awaited<ReturnType<typeof startTestCore>>;
type NatsOverrides = NonNullable<ConfigOverrides['nats']>;

/**
 * A central orchestrator (`role: co`) with NATS on, its client and leaf ports chosen once so that a CO
 * started again on the same home (`startAgain`, after the test stopped it) is where the LO's leaf link
 * reconnects. Returns once its NATS is ready.
 */
export async function startCentre(options: {
  home: string;
  git: ConfigOverrides['git'];
  nats?: NatsOverrides;
  bootstrapToken?: string;
}): Promise<{ co: TestCore; startAgain(): Promise<TestCore> }> {
  const ports = { port: await freePort(), leafPort: await freePort() };
  const startAgain = () =>
    startTestCore({
      home: options.home,
      ...(options.bootstrapToken ? { bootstrapToken: options.bootstrapToken } : {}),
      overrides: { role: 'co', nats: { ...options.nats, enabled: true, ...ports }, git: options.git },
    });
  const co = await startAgain();
  try {
    await co.core.messaging.ready(20_000);
  } catch (err) {
    await co.stop();
    throw err;
  }
  return { co, startAgain };
}

/**
 * The LO of a remote site (`role: lo`, the Margo interface on): linked to the CO's hub with what
 * `messaging.linkSite` gave, following the site's deployments at `repoUrl`. Returns once its NATS is ready.
 */
export async function startRemoteLo(options: {
  home: string;
  site: { id: string; name: string };
  link: { hubLeafUrl: string | null; hubCaPem: string | null };
  repoUrl: string;
  nats?: NatsOverrides;
}): Promise<TestCore> {
  const { hubLeafUrl, hubCaPem } = options.link;
  if (!hubLeafUrl || !hubCaPem)
    throw new Error('the site link has no hub leaf URL or CA (is NATS on at the CO?)');
  const hubCaFile = path.join(options.home, 'hub-ca.pem');
  fs.writeFileSync(hubCaFile, hubCaPem);
  const lo = await startTestCore({
    home: options.home,
    overrides: {
      role: 'lo',
      site: options.site,
      mmi: { enabled: true },
      nats: { ...options.nats, enabled: true, hubLeafUrl, hubCaFile },
      git: { remote: { url: options.repoUrl, branch: 'main' }, fetchIntervalSeconds: 30 },
    },
  });
  try {
    await lo.core.messaging.ready(20_000);
  } catch (err) {
    await lo.stop();
    throw err;
  }
  return lo;
}
