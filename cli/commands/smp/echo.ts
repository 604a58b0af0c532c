import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { emit } from '../../lib/output.js';
import { addPortOptions, settings, type SmpFlags, withSmp } from './shared.js';

/** `edgectl smp echo --port P TEXT`: is there an SMP device at this port? */
export function register(smp: Command): void {
  addPortOptions(
    smp
      .command('echo')
      .description('send text to the device and print what it echoes back (checks the link)')
      .argument('<text>', 'text to echo'),
  ).action(
    action(async (text: string, flags: SmpFlags) => {
      const s = settings(flags);
      const started = performance.now();
      const reply = await withSmp(s, (c, signal) => c.os.echo(text, signal));
      await emit(
        s.format,
        { text: reply, roundTripMs: Math.round(performance.now() - started) },
        () => reply,
      );
    }),
  );
}
