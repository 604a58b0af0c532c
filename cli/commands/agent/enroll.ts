import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { OutpostError } from '../../../lib/errors/index.js';
import { agentHome, readToken } from './shared.js';

/** `edgectl agent enroll --lo URL --token T`: key pair and CSR on the node, SVID and trust anchors stored. */
export function register(agent: Command): void {
  agent
    .command('enroll')
    .description('enroll this node at its LO with a one-time token (the private key never leaves the node)')
    .option('--lo <url>', "the LO's Margo Management Interface URL (default: the URL in the token)")
    .option('--token <token>', 'the one-time enrollment token (or --token-file, or EDGE_AGENT_TOKEN)')
    .option('--token-file <file>', 'read the token from a file ("-" for stdin)')
    .option('--force', 'replace an existing identity')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        // `agent` itself takes --lo and --token too: read them whichever command commander gave them to.
        const opts = cmd.optsWithGlobals<{
          lo?: string;
          token?: string;
          tokenFile?: string;
          force?: boolean;
        }>();
        const paths = agentHome(cmd);
        const token = await readToken(opts);
        if (!token)
          throw new OutpostError(
            'invalid-input',
            'no enrollment token: pass --token <TOKEN> (or --token-file, or EDGE_AGENT_TOKEN)',
          );
        const [{ silentLogger }, { systemClock }, { enrollAgent }] = await Promise.all([
          import('../../../lib/log/index.js'),
          import('../../../lib/base/index.js'),
          import('../../../agents/node/enroll.js'),
        ]);
        const e = await enrollAgent({
          paths,
          token,
          ...(opts.lo ? { lo: opts.lo } : {}),
          force: opts.force ?? false,
          clock: systemClock,
          logger: silentLogger(),
        });
        process.stdout.write(
          `enrolled ${e.nodeName} (${e.spiffeId}) at ${e.mmiUrl}; identity in ${paths.identityDir}\n`,
        );
      }),
    );
}
