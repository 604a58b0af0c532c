import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { emit } from '../../lib/output.js';
import { addPortOptions, imageTable, settings, type SmpFlags, withSmp } from './shared.js';

/** `edgectl smp image list --port P`: the firmware slots. */
export function register(image: Command): void {
  addPortOptions(
    image.command('list').description('list the firmware images in the MCUboot slots, with their state'),
  ).action(
    action(async (flags: SmpFlags) => {
      const s = settings(flags);
      const slots = await withSmp(s, (c) => c.img.list());
      await emit(s.format, slots, () => imageTable(slots));
    }),
  );
}
