import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { parsePairs } from '../../lib/args.js';

/** `edgectl co label <node> key=value key-` */
export function register(co: Command): void {
  co.command('label <node> <changes...>')
    .description('set (key=value) or remove (key-) operator labels on a node')
    .action(
      action(async (name: string, changes: string[], _opts: object, cmd: Command) => {
        const set: Record<string, string> = {};
        const remove: string[] = [];
        for (const c of changes) {
          if (c.endsWith('-') && !c.includes('=')) remove.push(c.slice(0, -1));
          else Object.assign(set, parsePairs([c], 'label'));
        }
        if (!remove.length && !Object.keys(set).length)
          throw new OutpostError('invalid-input', 'give key=value to set or key- to remove');
        const { client } = connect(globals(cmd));
        const n = await client.nodes.label({ name, set, remove });
        process.stdout.write(
          `${n.name}: ${
            Object.entries(n.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ') || 'no labels'
          }\n`,
        );
      }),
    );
}
