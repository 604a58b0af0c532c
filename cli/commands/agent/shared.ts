/**
 * What the `edgectl agent` commands share (one file per command beside it): the agent home, its version,
 * the enrollment token, and enrolling by token, discovery or approval (`agent enroll` and `agent`).
 */
import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Clock } from '../../../lib/base/index.js';
import type { Logger } from '../../../lib/log/index.js';
import { globals } from '../../lib/context.js';
import { collect } from '../../lib/args.js';
import { agentPaths, resolveAgentHome, type AgentPaths } from '../../../agents/node/home.js';
import type { Enrollment } from '../../../agents/node/identity.js';

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

/** The enrollment options `edgectl agent enroll` and `edgectl agent` share. */
export interface EnrollFlowOptions {
  lo?: string;
  token?: string;
  tokenFile?: string;
  discover?: boolean;
  site?: string;
  request?: boolean;
  name?: string;
  caFingerprint?: string;
  interface?: string[];
  discoverTimeout?: string;
  force?: boolean;
}

/** Adds the discovery and approval options to a command. */
export function enrollOptions(cmd: Command): Command {
  return cmd
    .option('--discover', 'find the LO on the LAN (DNS-SD _outpost._tcp) instead of --lo')
    .option('--site <site>', 'with --discover: the site whose LO to use (when several advertise)')
    .option('--request', 'no token: file an enrollment request and wait for an operator to approve it')
    .option('--name <name>', 'with --request: the node name to ask for (the operator decides)')
    .option(
      '--ca-fingerprint <sha256:hex>',
      'with --lo --request: the site CA to pin (default: the CA the LO presents; compare the code)',
    )
    .option(
      '--interface <if>',
      'with --discover: browse on this interface (name or IPv4; repeatable)',
      collect,
    )
    .option('--discover-timeout <seconds>', 'with --discover: how long to look for LOs', '10');
}

export async function enrollFlow(
  opts: EnrollFlowOptions,
  deps: { paths: AgentPaths; clock: Clock; logger: Logger; version: string; say: (line: string) => void },
): Promise<Enrollment> {
  const token = await readToken(opts);
  if (opts.request && token)
    throw new OutpostError('invalid-input', '--request files a request for approval; it takes no --token');
  if (!token && !opts.request)
    throw new OutpostError(
      'invalid-input',
      'no enrollment token: pass --token <TOKEN> (or --token-file, or EDGE_AGENT_TOKEN), or --request to ask an operator for approval',
    );
  if (opts.discover && opts.lo) throw new OutpostError('invalid-input', 'give --discover or --lo, not both');
  if (opts.request && !opts.discover && !opts.lo)
    throw new OutpostError('invalid-input', '--request needs the LO: pass --discover or --lo <URL>');
  const seconds = Number(opts.discoverTimeout ?? '10');
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600)
    throw new OutpostError(
      'invalid-input',
      `--discover-timeout: "${opts.discoverTimeout}" is not a number of seconds (1-600)`,
    );
  const { paths, clock, logger } = deps;

  let lo = opts.lo;
  let pin = opts.caFingerprint;
  if (opts.discover) {
    const [{ findLos, chooseLo, shortFingerprint }, { parseEnrollmentToken }] = await Promise.all([
      import('../../../lib/discovery/index.js'),
      import('../../../lib/identity/index.js'),
    ]);
    let tokenSite: string | undefined;
    let tokenCa: string | undefined;
    if (token) {
      try {
        const t = parseEnrollmentToken(token);
        tokenSite = t.siteId;
        tokenCa = t.caFingerprint;
      } catch (e) {
        throw new OutpostError(
          'agent/invalid-token',
          `the enrollment token is not valid: ${(e as Error).message}`,
        );
      }
      if (opts.site && opts.site !== tokenSite)
        throw new OutpostError(
          'invalid-input',
          `--site ${opts.site} differs from the token's site ${tokenSite}`,
        );
    }
    const siteId = opts.site ?? tokenSite;
    deps.say(
      `looking for ${siteId ? `the LO of site ${siteId}` : 'LOs'} on the network (up to ${seconds} s)`,
    );
    const found = await findLos({
      ...(opts.interface?.length ? { interfaces: opts.interface } : {}),
      logger,
      timeoutMs: seconds * 1000,
      ...(siteId ? { siteId } : {}),
    });
    const describe = (l: (typeof found)[number]) =>
      `${l.siteId}  ${l.mmiUrl}  CA ${shortFingerprint(l.caFingerprint)}  "${l.instance}"`;
    if (found.length > 1) {
      deps.say(`found ${found.length} LOs:`);
      for (const l of found) deps.say(`  ${describe(l)}`);
    }
    const choice = chooseLo(found, { siteId, caFingerprint: tokenCa ?? pin });
    for (const c of choice.conflicts)
      deps.say(
        `conflict: ${describe(c)} advertises site ${c.siteId} with a CA that is not the site's (${shortFingerprint(c.caFingerprint)}); ignored`,
      );
    lo = choice.lo.mmiUrl;
    pin = choice.lo.caFingerprint;
    deps.say(`using the LO of site ${choice.lo.siteId} at ${lo}`);
  }

  if (token) {
    const { enrollAgent } = await import('../../../agents/node/enroll.js');
    return enrollAgent({ paths, token, ...(lo ? { lo } : {}), force: opts.force ?? false, clock, logger });
  }

  const [{ requestEnrollment }, { shortFingerprint }, { loadAgentConfig }] = await Promise.all([
    import('../../../agents/node/enroll-request.js'),
    import('../../../lib/discovery/index.js'),
    import('../../../agents/node/config.js'),
  ]);
  const discovery = loadAgentConfig(paths.configFile).discovery;
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await requestEnrollment({
      paths,
      lo: lo!,
      caFingerprint: pin,
      name: opts.name,
      version: deps.version,
      force: opts.force ?? false,
      clock,
      logger,
      signal: abort.signal,
      discovery,
      onFiled(i) {
        deps.say(`enrollment request ${i.id} filed at ${i.lo}`);
        deps.say(
          `  compare in the console: code ${i.code}, key ${shortFingerprint(i.keyFingerprint)}, site CA ${shortFingerprint(i.caFingerprint)}`,
        );
        if (i.caFromServer)
          deps.say(
            `  the site CA was taken from the LO itself (${i.caFingerprint}): check it with the operator`,
          );
        deps.say(
          `waiting for an operator to approve it (edgectl co approve ${i.id} --node <name> --site <site>); expires ${new Date(i.expiresAt).toISOString()}; Ctrl-C stops waiting`,
        );
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * `edgectl agent status --wait S`: waits until an agent runs on `paths` and its LO has its capabilities
 * (what placement needs), e.g. right after `edgectl agent &`.
 */
export async function waitUntilReporting(paths: AgentPaths, wait: string): Promise<void> {
  const seconds = Number(wait);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 3600)
    throw new OutpostError('invalid-input', `--wait: "${wait}" is not a number of seconds (0-3600)`);
  const [{ readAgentStatus }, { readStateFile }] = await Promise.all([
    import('../../../agents/node/status-view.js'),
    import('../../../agents/node/state.js'),
  ]);
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    let ready: boolean;
    try {
      const view = readAgentStatus(paths, Date.now(), undefined, undefined);
      ready = view.agent.running && readStateFile(paths.stateFile)?.capabilities?.sentAt !== undefined;
    } catch {
      ready = false;
    }
    if (ready) return;
    if (Date.now() >= deadline)
      throw new OutpostError(
        'timeout',
        `no agent on ${paths.home} has reported to its LO within ${seconds} s (start it with "edgectl agent"; its log says why it cannot reach the LO)`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}
