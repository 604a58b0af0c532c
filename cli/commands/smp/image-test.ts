import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import { action } from '../../lib/action.js';
import { emit } from '../../lib/output.js';
import { addPortOptions, imageTable, parseHash, settings, type SmpFlags, withSmp } from './shared.js';

/** `edgectl smp image test --port P [HASH]`: boot an image once after the next reset. */
export function register(image: Command): void {
  addPortOptions(
    image
      .command('test')
      .description('mark an image to run once after the next reset (it reverts unless confirmed)')
      .argument('[hash]', 'image hash (default: the image in the slot that is not running)'),
  ).action(
    action(async (hashText: string | undefined, flags: SmpFlags) => {
      const s = settings(flags);
      const given = hashText === undefined ? undefined : parseHash(hashText);
      const slots = await withSmp(s, async (c) => {
        let hash = given;
        if (!hash) {
          const other = (await c.img.list()).find((x) => !x.active);
          if (!other)
            throw new OutpostError(
              'smp/not-found',
              'the update slot is empty: upload an image first (edgectl smp image upload)',
            );
          hash = Buffer.from(other.hash, 'hex');
        }
        return c.img.test(hash);
      });
      await emit(s.format, slots, () => `${imageTable(slots)}\nreset the device to boot the pending image`);
    }),
  );
}
