import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co revoke node <name>`: its certificates are refused from its next request on */
export function register(revoke: Command): void {
  revoke
    .command('node <name>')
    .description('revoke a node: its certificates are refused from its next request on')
    .action(
      action(async (name: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        const r = await client.identity.revokeNode({ name });
        process.stdout.write(
          `revoked ${r.nodeUid} (${r.revokedSerials.length} certificate${r.revokedSerials.length === 1 ? '' : 's'})\n`,
        );
      }),
    );
}
