import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { emit } from '../../lib/output.js';
import { addPortOptions, imageTable, parseHash, settings, type SmpFlags, withSmp } from './shared.js';

/** `edgectl smp image confirm --port P [HASH]`: keep the running (or given) image for good. */
export function register(image: Command): void {
  addPortOptions(
    image
      .command('confirm')
      .description('make an image permanent (default: the one running now, after a test boot)')
      .argument('[hash]', 'image hash (default: the running image)'),
  ).action(
    action(async (hashText: string | undefined, flags: SmpFlags) => {
      const s = settings(flags);
      const hash = hashText === undefined ? undefined : parseHash(hashText);
      const slots = await withSmp(s, (c) => c.img.confirm(hash));
      await emit(s.format, slots, () => imageTable(slots));
    }),
  );
}
