import path from 'node:path';
import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import { action } from '../../lib/action.js';
import { emit } from '../../lib/output.js';
import {
  addPortOptions,
  reportCancelled,
  settings,
  type SmpFlags,
  transferProgress,
  withSmp,
} from './shared.js';
import { readLocal } from './upload.js';

/** `edgectl smp image upload --port P FILE`: write a firmware image into the second slot. */
export function register(image: Command): void {
  addPortOptions(
    image
      .command('upload')
      .description('write an MCUboot firmware image (signed .bin) into the update slot; then test and reset')
      .argument('<file>', 'MCUboot image file')
      .option('--image <n>', 'image number on multi-image devices', '0')
      .option('--upgrade', 'let the device refuse an image that is not newer than the running one'),
  )
    .addHelpText('after', '\nThen: edgectl smp image test --port P  (and reset; confirm once it runs well)\n')
    .action(
      action(async (file: string, flags: SmpFlags & { image: string; upgrade?: boolean }, cmd: Command) => {
        const s = settings(flags);
        const imageNo = Number(flags.image);
        if (!Number.isInteger(imageNo) || imageNo < 0 || imageNo > 255)
          throw new OutpostError('invalid-input', `--image "${flags.image}" must be a small whole number`);
        const data = readLocal(file);
        const { parseMcubootImage } = await import('../../../lib/smp/index.js');
        const header = parseMcubootImage(data, file);
        const progress = await transferProgress(path.basename(file));
        let done = 0;
        try {
          const { result, slots } = await withSmp(s, async (c, signal) => {
            const result = await c.img.upload(data, {
              image: imageNo || undefined,
              upgrade: flags.upgrade,
              signal,
              onProgress: (p) => {
                done = p.done;
                progress.update(p);
              },
            });
            progress.finish();
            progress.stop();
            return { result, slots: await c.img.list() };
          });
          const hash = header.hash?.toString('hex');
          const slot = slots.find((x) => x.hash === hash) ?? slots.find((x) => !x.active);
          await emit(
            s.format,
            { file, version: header.version, hash: slot?.hash ?? hash, slot: slot?.slot, ...result },
            () => {
              const resumed = result.resumedFrom ? `, resumed at ${result.resumedFrom}` : '';
              return (
                `uploaded ${file} (version ${header.version}, ${data.length} bytes${resumed}) to slot ${slot?.slot ?? '?'}` +
                `${result.match ? ", checked by the device's SHA-256" : ''}\n` +
                `next: edgectl smp image test --port ${s.port} ${slot?.hash ?? ''}`.trimEnd()
              );
            },
          );
        } catch (err) {
          progress.stop();
          if (
            reportCancelled(
              err,
              `image upload cancelled at ${done} of ${data.length} bytes; run it again to resume`,
              Boolean(cmd.optsWithGlobals().debug),
            )
          )
            return;
          throw err;
        }
      }),
    );
}
