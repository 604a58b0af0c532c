import dgram from 'node:dgram';
import os from 'node:os';
import { createPublicKey } from 'node:crypto';
import type { Logger } from '../../lib/log/index.js';
import { spkiFingerprint } from '../../lib/identity/index.js';
import { advertise, AGENT_SERVICE, agentTxt, type Advertisement } from '../../lib/discovery/index.js';

/**
 * The agent on the LAN (ADR 0464): `_outpost-agent._tcp` with its key fingerprint (and its node id once
 * enrolled), so the console can list machines found on the network and match them with their enrollment
 * requests. By default only on the interface the node reaches its LO through: an agent whose LO is on
 * loopback (tests, an all-in-one box) advertises nothing. Never fatal: a failure is logged.
 */
export interface AgentAdvertiseInput {
  /** The LO's MMI URL (the interface toward it is advertised on). */
  lo: string;
  keyPem: string;
  version: string;
  /** From agent.yaml. */
  config: { advertise: boolean; interfaces: string[] };
  nodeId?: string | undefined;
  siteId?: string | undefined;
  logger: Logger;
}

export async function advertiseAgent(input: AgentAdvertiseInput): Promise<Advertisement | undefined> {
  const log = input.logger.child({ component: 'agent-discovery' });
  if (!input.config.advertise) return undefined;
  try {
    const interfaces =
      input.config.interfaces.length > 0 ? input.config.interfaces : await interfaceToward(input.lo);
    if (interfaces.length === 0) {
      log.debug({ lo: input.lo }, 'the LO is reached over loopback: not advertising on the LAN');
      return undefined;
    }
    const name = (os.hostname().split('.')[0] || 'outpost-agent').slice(0, 63);
    return await advertise({
      type: AGENT_SERVICE,
      name,
      // The agent serves nothing: port 9 (discard) says "a machine with an agent is here".
      port: 9,
      txt: agentTxt({
        version: input.version,
        keyFingerprint: spkiFingerprint(createPublicKey(input.keyPem)),
        nodeId: input.nodeId,
        siteId: input.siteId,
      }),
      interfaces,
      logger: log,
    });
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'not advertising this agent on the LAN');
    return undefined;
  }
}

/** The interface whose address the kernel would use to reach the LO (none when that is loopback). */
async function interfaceToward(lo: string): Promise<string[]> {
  const url = new URL(lo);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const local = await new Promise<string>((resolve, reject) => {
    // Connecting a UDP socket sends nothing; it only asks the routing table for the source address.
    const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    s.once('error', (e) => {
      s.close();
      reject(e);
    });
    s.connect(Number(url.port || 443), host, () => {
      const a = s.address().address;
      s.close();
      resolve(a);
    });
  });
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    const hit = (addrs ?? []).find((a) => a.address === local);
    if (hit) return hit.internal || hit.family !== 'IPv4' ? [] : [name];
  }
  return [];
}
