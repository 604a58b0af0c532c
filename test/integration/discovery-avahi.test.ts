import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLan, netnsSupport, stopChild, type Lan, type NsHost } from '../helpers/netns.js';
import { edgectlIn, startServerIn, type NsServer } from '../helpers/ns-edgectl.js';
import { avahiSupport, startAvahi, type Avahi } from '../helpers/avahi.js';

import { waitFor } from '../helpers/wait.js';

/**
 * Interop with Avahi, an independent DNS-SD implementation (ADR 0460): avahi-browse sees the LO's
 * `_outpost._tcp` advertisement with its TXT record, and our browser (`edgectl discover`) sees a service
 * published with avahi-publish. Avahi runs in its own namespace with a private D-Bus and /run.
 */
const ns = netnsSupport();
const av = avahiSupport();
const skip = !ns.ok || !av.ok;
if (skip) console.warn(`discovery-avahi: skipped: ${!ns.ok ? ns.reason : av.reason}`);

describe.skipIf(skip)('DNS-SD interop with Avahi', { timeout: 120_000 }, () => {
  let lan: Lan;
  let h1: NsHost, h2: NsHost, h3: NsHost;
  let lo: NsServer;
  let avahi: Avahi;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-avahi-'));

  beforeAll(async () => {
    lan = createLan(3);
    [h1, h2, h3] = lan.hosts as [NsHost, NsHost, NsHost];
    lo = await startServerIn(h1, path.join(scratch, 'lo'), {
      role: 'lo',
      site: { id: 'plant-7', name: 'Plant 7' },
      mmi: { host: h1.ip },
      nats: { host: h1.ip },
    });
    avahi = await startAvahi(h2, path.join(scratch, 'avahi'));
  });
  afterAll(async () => {
    await avahi?.stop();
    await lo?.stop();
    await lan?.destroy();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it("avahi-browse sees the LO's advertisement and its TXT record", async () => {
    const status = JSON.parse(
      (await edgectlIn(h1, ['co', 'list', 'discovered', '-o', 'json', '--home', lo.home])).stdout,
    ) as { advertising: { caFingerprint: string } };
    const ca = { fingerprint: status.advertising.caFingerprint };
    const line = await waitFor(
      async () => {
        const r = await h2.run('avahi-browse', ['-rtp', '_outpost._tcp'], {
          env: avahi.env,
          timeoutMs: 30_000,
        });
        return r.stdout
          .split('\n')
          .find((l) => l.startsWith('=') && l.includes('Outpost\\032LO\\032plant-7'));
      },
      { what: 'avahi-browse to resolve the LO', timeoutMs: 60_000, intervalMs: 500 },
    );
    // =;eth0;IPv4;Outpost\032LO\032plant-7;_outpost._tcp;local;<host>;<address>;<port>;"k=v" "k=v" ...
    const [, iface, family, escapedName, type, , , address, port, txt] = line.split(';');
    const name = escapedName!.replace(/\\(\d{3})/g, (_, d: string) => String.fromCharCode(Number(d)));
    expect([iface, family, name, type, address]).toEqual([
      'eth0',
      'IPv4',
      'Outpost LO plant-7',
      '_outpost._tcp',
      h1.ip,
    ]);
    expect(txt).toContain('"site=plant-7"');
    expect(txt).toContain(`"ca=${ca.fingerprint}"`);
    expect(txt).toContain(`"mmi=https://${h1.ip}:${port}"`);
    expect(txt).toContain('"txtvers=1"');
  });

  it('our browser sees a service published with avahi-publish', async () => {
    const fp = `sha256:${'ab'.repeat(32)}`;
    const publish = h2.spawn(
      'avahi-publish',
      [
        '-s',
        'Avahi LO',
        '_outpost._tcp',
        '8443',
        'txtvers=1',
        'site=plant-av',
        `mmi=https://${h2.ip}:8443`,
        `ca=${fp}`,
        'td=outpost.local',
        'v=9.9.9',
      ],
      { env: { ...process.env, ...avahi.env } },
    );
    try {
      const found = await waitFor(
        async () => {
          const r = await edgectlIn(h3, ['discover', '--timeout', '3', '-o', 'json']);
          const j = JSON.parse(r.stdout) as {
            services: {
              name: string;
              port: number;
              lo: { siteId: string; caFingerprint: string; mmiUrl: string } | null;
              addresses: string[];
            }[];
          };
          return j.services.find((s) => s.name === 'Avahi LO');
        },
        { what: 'edgectl discover to see the Avahi service', timeoutMs: 60_000, intervalMs: 200 },
      );
      expect(found.port).toBe(8443);
      expect(found.addresses).toContain(h2.ip);
      expect(found.lo).toMatchObject({
        siteId: 'plant-av',
        caFingerprint: fp,
        mmiUrl: `https://${h2.ip}:8443`,
      });
    } finally {
      await stopChild(publish);
    }
  });
});
