import type { Command } from 'commander';
import { register as echo } from './echo.js';
import { register as info } from './info.js';
import { register as upload } from './upload.js';
import { register as download } from './download.js';
import { register as exec } from './exec.js';
import { register as reset } from './reset.js';
import { register as imageList } from './image-list.js';
import { register as imageUpload } from './image-upload.js';
import { register as imageTest } from './image-test.js';
import { register as imageConfirm } from './image-confirm.js';

/** `edgectl smp ...`: talk to a microcontroller (Zephyr MCUmgr SMP) on a serial port, at the bench. */
export function head(program: Command): Command {
  return program
    .command('smp')
    .description('talk to a microcontroller over its serial port (Zephyr MCUmgr SMP): files, shell, firmware')
    .addHelpText(
      'after',
      '\nEvery command takes --port PATH (or $EDGE_SMP_PORT), --baud RATE and --timeout SECONDS.\n' +
        'Example:\n  edgectl smp upload --port /dev/ttyACM0 app.wasm /lfs/ocre/images/app.wasm\n' +
        '  edgectl smp exec --port /dev/ttyACM0 -- ocre run -d -n app1 app.wasm\n',
    );
}

export function register(program: Command): void {
  const smp = head(program);
  echo(smp);
  info(smp);
  upload(smp);
  download(smp);
  exec(smp);
  reset(smp);
  const image = smp
    .command('image')
    .description('firmware images in the MCUboot slots: list, upload, test, confirm');
  imageList(image);
  imageUpload(image);
  imageTest(image);
  imageConfirm(image);
}
