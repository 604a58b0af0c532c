import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createLan, netnsSupport, stopChild, type Lan, type NsHost } from '../helpers/netns.js';
import { edgectlIn, startServerIn, type NsServer } from '../helpers/ns-edgectl.js';
import { EDGECTL } from '../helpers/cli.js';
import { writeAgentConfig } from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * LAN discovery and onboarding between hosts (issue 14): a LAN of network namespaces (one bridge, veth
 * pairs, a multicast route), an LO (`edgectl server --role lo`) in one, agents (`edgectl agent ...`) in
 * others, all real processes talking mDNS and the MMI over the namespaces' own addresses. The operator's
 * commands run inside the LO's namespace against its console API.
 */
const support = netnsSupport();
if (!support.ok) console.warn(`discovery-netns: skipped: ${support.reason}`);

interface Running {
  child: ChildProcess;
  err(): string;
  exited: Promise<number | null>;
}

function runIn(host: NsHost, args: string[]): Running {
  const child = host.spawn(process.execPath, [EDGECTL, ...args]);
  let err = '';
  child.stdout?.resume();
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-100_000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { child, err: () => err, exited };
}

type Found = {
  agents: {
    requestId: string | null;
    nodeId: string | null;
    enrolledAs: string | null;
    addresses: string[];
  }[];
};

const json = <T>(r: { code: number | null; stdout: string; stderr: string }): T => {
  if (r.code !== 0) throw new Error(`edgectl failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
};

describe.skipIf(!support.ok)(
  'LAN discovery and onboarding in network namespaces',
  { timeout: 240_000 },
  () => {
    let lan: Lan;
    let lo: NsServer;
    let h1: NsHost, h2: NsHost, h3: NsHost, h4: NsHost;
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-disc-'));
    const loConfig = (host: NsHost, site: string) => ({
      role: 'lo',
      site: { id: site, name: `Site ${site}` },
      mmi: { host: host.ip },
      nats: { host: host.ip },
    });
    const co = (args: string[]) => edgectlIn(h1, ['co', ...args, '--home', lo.home]);

    beforeAll(async () => {
      lan = createLan(4);
      [h1, h2, h3, h4] = lan.hosts as [NsHost, NsHost, NsHost, NsHost];
      lo = await startServerIn(h1, path.join(scratch, 'lo'), loConfig(h1, 'plant-7'));
    });
    afterAll(async () => {
      await lo?.stop();
      await lan?.destroy();
      fs.rmSync(scratch, { recursive: true, force: true });
    });

    it('an agent on another host finds the LO and enrolls with a token', async () => {
      const t = json<{ token: string }>(
        await co(['enroll-token', 'create', '--node', 'box-a', '--site', 'plant-7', '-o', 'json']),
      );
      const home = path.join(scratch, 'agent-a');
      const r = await edgectlIn(h2, ['agent', 'enroll', '--home', home, '--discover', '--token', t.token]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`using the LO of site plant-7 at https://${h1.ip}:`);
      expect(r.stdout).toMatch(
        /^enrolled box-a \(spiffe:\/\/outpost\.local\/margo\/wfm\/outpost\/client\/default\.box-a\)/,
      );
      const enrollment = JSON.parse(
        fs.readFileSync(path.join(home, 'identity', 'enrollment.json'), 'utf8'),
      ) as {
        mmiUrl: string;
      };
      expect(enrollment.mmiUrl).toBe(lo.info.mmiUrl);
      expect(lo.info.mmiUrl).toMatch(new RegExp(`^https://${h1.ip.replace(/\./g, '\\.')}:\\d+$`));
    });

    it('enrollment by request: pending with the same code on both sides, approved from the CLI, the agent starts and reports capabilities', async () => {
      const home = path.join(scratch, 'agent-b');
      writeAgentConfig(home);
      const agent = runIn(h3, [
        'agent',
        '--home',
        home,
        '--discover',
        '--request',
        '--name',
        'box-b',
        '--log-level',
        'info',
      ]);
      try {
        const printed = await waitFor(
          () => /compare in the console: code (\d{3} \d{3}), key ([0-9A-F-]+)/.exec(agent.err()) ?? undefined,
          { what: 'the agent to file its request', timeoutMs: 60_000, intervalMs: 100 },
        );
        const pending = json<{
          requests: {
            id: string;
            code: string;
            shortFingerprint: string;
            address: string;
            hostname: string;
            hardware: { cores: number };
          }[];
        }>(await co(['list', 'requests', '-o', 'json'])).requests;
        expect(pending).toHaveLength(1);
        const req = pending[0]!;
        expect(req.code).toBe(printed[1]);
        expect(req.shortFingerprint).toBe(printed[2]);
        expect(req.address).toBe(h3.ip);
        expect(req.hardware.cores).toBeGreaterThan(0);
        // The waiting machine advertises itself; the LO lists it under "found on the network" with its request.
        await waitFor(
          async () =>
            json<Found>(await co(['list', 'discovered', '-o', 'json'])).agents.find(
              (a) => a.requestId === req.id,
            ),
          { what: 'the waiting agent under found on the network', timeoutMs: 60_000, intervalMs: 1000 },
        );
        const approved = await co([
          'approve',
          req.id,
          '--node',
          'box-b',
          '--site',
          'plant-7',
          '--label',
          'line=3',
        ]);
        expect(approved.code, approved.stderr).toBe(0);
        await waitFor(() => /agent box-b running/.test(agent.err()), {
          what: 'the agent to start',
          timeoutMs: 60_000,
          intervalMs: 100,
        });
        const node = await waitFor(
          async () => {
            const n = json<{ state: string; capabilitiesAt: number | null; labels: Record<string, string> }>(
              await co(['show', 'node', 'box-b', '-o', 'json']),
            );
            return n.capabilitiesAt !== null ? n : undefined;
          },
          { what: 'capabilities of box-b', timeoutMs: 60_000, intervalMs: 500 },
        );
        expect(node.state).toBe('enrolled');
        expect(node.labels).toEqual({ line: '3' });
        // Running, it advertises its node id.
        const running = await waitFor(
          async () =>
            json<Found>(await co(['list', 'discovered', '-o', 'json'])).agents.find(
              (a) => a.enrolledAs === 'default.box-b',
            ),
          { what: 'the running agent advertising its node id', timeoutMs: 60_000, intervalMs: 1000 },
        );
        expect(running.addresses).toContain(h3.ip);
        const all = json<{ requests: { id: string; state: string; deliveredAt: number | null }[] }>(
          await co(['list', 'requests', '--all', '-o', 'json']),
        ).requests;
        expect(all.find((r) => r.id === req.id)).toMatchObject({ state: 'approved' });
        expect(all.find((r) => r.id === req.id)?.deliveredAt).not.toBeNull();
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- agent ---\n${agent.err().slice(-4000)}`, { cause: e });
      } finally {
        await stopChild(agent.child);
      }
    });

    it('a rejected request: the agent says so and stops without an identity', async () => {
      const home = path.join(scratch, 'agent-c');
      const agent = runIn(h2, ['agent', 'enroll', '--home', home, '--discover', '--request']);
      const id = await waitFor(() => /enrollment request (req-[0-9a-f]+) filed/.exec(agent.err())?.[1], {
        what: 'the request',
        timeoutMs: 60_000,
        intervalMs: 100,
      });
      const r = await co(['reject', id, '--reason', 'not one of ours']);
      expect(r.code, r.stderr).toBe(0);
      expect(await agent.exited).not.toBe(0);
      expect(agent.err()).toMatch(
        /edgectl: the operator rejected enrollment request req-[0-9a-f]+: not one of ours\n$/,
      );
      expect(fs.existsSync(path.join(home, 'identity', 'enrollment.json'))).toBe(false);
    });

    it('a rogue LO advertising the same site with another CA is refused by a token-carrying agent and shown as a conflict', async () => {
      const rogue = await startServerIn(h4, path.join(scratch, 'rogue'), loConfig(h4, 'plant-7'));
      try {
        // The LO sees the rival.
        await waitFor(
          async () => {
            const s = json<{ conflicts: { mmiUrl: string }[] }>(
              await co(['list', 'discovered', '-o', 'json']),
            );
            return s.conflicts.some((c) => c.mmiUrl.includes(h4.ip));
          },
          { what: 'the LO to list the rogue as a conflict', timeoutMs: 60_000, intervalMs: 1000 },
        );
        // A token-carrying agent uses the real LO and says what it ignored.
        const t = json<{ token: string }>(
          await co(['enroll-token', 'create', '--node', 'box-d', '--site', 'plant-7', '-o', 'json']),
        );
        const r = await edgectlIn(h2, [
          'agent',
          'enroll',
          '--home',
          path.join(scratch, 'agent-d'),
          '--discover',
          '--token',
          t.token,
        ]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toMatch(
          new RegExp(`conflict: plant-7  https://${h4.ip.replace(/\./g, '\\.')}:\\d+ .* ignored`),
        );
        expect(r.stderr).toContain(`using the LO of site plant-7 at https://${h1.ip}:`);
        // Without a token the two cannot be told apart: refused, nothing filed anywhere.
        const q = await edgectlIn(h2, [
          'agent',
          'enroll',
          '--home',
          path.join(scratch, 'agent-e'),
          '--discover',
          '--request',
        ]);
        expect(q.code).not.toBe(0);
        expect(q.stderr).toMatch(/edgectl: 2 LOs advertise site "plant-7" with different CAs/);
        // And a token for the rogue's site alone (only the rogue's CA would match) is refused by the real LO's pin.
        const rt = json<{ token: string }>(
          await edgectlIn(h4, [
            'co',
            'enroll-token',
            'create',
            '--node',
            'box-f',
            '--site',
            'plant-7',
            '-o',
            'json',
            '--home',
            rogue.home,
          ]),
        );
        const f = await edgectlIn(h2, [
          'agent',
          'enroll',
          '--home',
          path.join(scratch, 'agent-f'),
          '--discover',
          '--token',
          rt.token,
        ]);
        expect(f.code).toBe(0);
        expect(f.stderr).toContain(`using the LO of site plant-7 at https://${h4.ip}:`);
        expect(f.stderr).toMatch(new RegExp(`conflict: plant-7  https://${h1.ip.replace(/\./g, '\\.')}:`));
      } finally {
        await rogue.stop();
      }
    });
  },
);
