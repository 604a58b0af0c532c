/** What the `edgectl agent` commands share (one file per command beside it): the agent home, its version, the enrollment token. */
import type { Command } from 'commander';
import { globals } from '../../lib/context.js';
import { agentPaths, resolveAgentHome, type AgentPaths } from '../../../agents/node/home.js';

/** The agent home: `--home`, else EDGE_AGENT_HOME, else /var/lib/outpost-agent (root) or ~/.local/share/outpost-agent. */
export function agentHome(cmd: Command): AgentPaths {
  return agentPaths(resolveAgentHome(globals(cmd).home));
}

declare const __OUTPOST_VERSION__: string;
export const AGENT_VERSION = typeof __OUTPOST_VERSION__ === 'string' ? __OUTPOST_VERSION__ : 'dev';

/** The enrollment token: `--token`, else `--token-file`, else EDGE_AGENT_TOKEN. */
export async function readToken(opts: { token?: string; tokenFile?: string }): Promise<string | undefined> {
  if (opts.token) return opts.token;
  if (opts.tokenFile) {
    const fs = await import('node:fs');
    return fs.readFileSync(opts.tokenFile === '-' ? 0 : opts.tokenFile, 'utf8').trim();
  }
  return process.env.EDGE_AGENT_TOKEN || undefined;
}
