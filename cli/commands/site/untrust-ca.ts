import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl site ca trust remove <fingerprint>`: its certificates are refused from the next handshake. */
export function register(trust: Command): void {
  trust
    .command('remove <fingerprint>')
    .description("remove a CA from the site's trust (its certificates are refused from the next handshake)")
    .action(
      action(async (fingerprint: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.identity.untrustCa({ fingerprint });
        process.stdout.write(`removed ${fingerprint} from the site's trust\n`);
      }),
    );
}
