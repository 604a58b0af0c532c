import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { AGENT_VERSION, agentHome, enrollFlow, enrollOptions, type EnrollFlowOptions } from './shared.js';

/**
 * `edgectl agent enroll --lo URL --token T`, `--discover [--site S] [--token T]`, or `--discover --request
 * [--name N]` (`--lo URL --request`): key pair and CSR on the node, SVID and trust anchors stored.
 */
export function register(agent: Command): void {
  const cmd = agent
    .command('enroll')
    .description(
      "enroll this node at its LO with a one-time token, or by an operator's approval (--request); the private key never leaves the node",
    )
    .option('--lo <url>', "the LO's Margo Management Interface URL (default: the URL in the token)")
    .option('--token <token>', 'the one-time enrollment token (or --token-file, or EDGE_AGENT_TOKEN)')
    .option('--token-file <file>', 'read the token from a file ("-" for stdin)')
    .option('--force', 'replace an existing identity');
  enrollOptions(cmd).action(
    action(async (_opts: unknown, c: Command) => {
      // `agent` itself takes --lo, --token and the discovery options too: read them wherever commander put them.
      const opts = c.optsWithGlobals<EnrollFlowOptions>();
      const paths = agentHome(c);
      const [{ silentLogger }, { systemClock }] = await Promise.all([
        import('../../../lib/log/index.js'),
        import('../../../lib/base/index.js'),
      ]);
      const e = await enrollFlow(opts, {
        paths,
        clock: systemClock,
        logger: silentLogger(),
        version: AGENT_VERSION,
        say: (line) => process.stderr.write(`edgectl: ${line}\n`),
      });
      process.stdout.write(
        `enrolled ${e.nodeName} (${e.spiffeId}) at ${e.mmiUrl}; identity in ${paths.identityDir}\n`,
      );
    }),
  );
}
