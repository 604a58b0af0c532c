/** What the `edgectl site` commands share (one file per command beside it). */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** Writes a file with `mode`, refusing to replace one unless `force`. */
export function writeFileSafe(file: string, content: string, mode: number, force: boolean): void {
  if (fs.existsSync(file) && !force)
    throw new OutpostError('already-exists', `${file} already exists (use --force to replace it)`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode });
  fs.chmodSync(file, mode);
}

/** The action of `site clients allow|deny <spiffe-id>`: add the entry to the accepted-client policy. */
export function policyEntry(effect: 'allow' | 'deny') {
  return action(async (pattern: string, _opts: object, cmd: Command) => {
    const { client } = connect(globals(cmd));
    const r = await client.identity[effect]({ pattern });
    process.stdout.write(`${r.effect} ${r.pattern}\n`);
  });
}
