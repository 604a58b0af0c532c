import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { emit } from '../../lib/output.js';
import { addPortOptions, settings, type SmpFlags, withSmp } from './shared.js';

/** `edgectl smp reset --port P`: reboot the device (Ocre forgets its containers). */
export function register(smp: Command): void {
  addPortOptions(
    smp
      .command('reset')
      .description('reboot the device (the answer comes first; Ocre loses its container list)')
      .option('--force', 'reset even if the firmware would refuse (os reset "force")'),
  ).action(
    action(async (flags: SmpFlags & { force?: boolean }) => {
      const s = settings(flags);
      await withSmp(s, (c) => c.os.reset({ force: Boolean(flags.force) }));
      await emit(s.format, { reset: true }, () => `${s.port}: reset requested`);
    }),
  );
}
