import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import type { UploadResult } from '../../../lib/smp/index.js';
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

export function readLocal(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new OutpostError('not-found', `${file}: no such file`);
    throw new OutpostError('invalid-input', `cannot read ${file}: ${code ?? String(err)}`);
  }
}

/** `edgectl smp upload --port P FILE DEST`: copy a file onto the device's file system. */
export function register(smp: Command): void {
  addPortOptions(
    smp
      .command('upload')
      .description(
        "copy a file to the device's file system (resumes a partial copy, checks the device's SHA-256)",
      )
      .argument('<file>', 'local file')
      .argument('<dest>', 'absolute path on the device, e.g. /lfs/ocre/images/app.wasm')
      .option('--no-resume', 'start from the beginning even when the device has a matching partial copy')
      .option('--no-verify', "skip the device's SHA-256 check afterwards"),
  )
    .addHelpText(
      'after',
      '\nAn interrupted upload (Ctrl-C, a lost line) continues where it stopped when run again.\n',
    )
    .action(
      action(
        async (
          file: string,
          dest: string,
          flags: SmpFlags & { resume: boolean; verify: boolean },
          cmd: Command,
        ) => {
          const s = settings(flags);
          const data = readLocal(file);
          const progress = await transferProgress(path.basename(file));
          let done = 0;
          let result: UploadResult;
          try {
            result = await withSmp(s, (c, signal) =>
              c.fs.upload(dest, data, {
                resume: flags.resume,
                verify: flags.verify,
                signal,
                onProgress: (p) => {
                  done = p.done;
                  progress.update(p);
                },
              }),
            );
            progress.finish();
            progress.stop();
          } catch (err) {
            progress.stop();
            const debug = Boolean(cmd.optsWithGlobals().debug);
            if (
              reportCancelled(
                err,
                `upload of ${file} cancelled at ${done} of ${data.length} bytes; run the same command again to resume`,
                debug,
              )
            )
              return;
            throw err;
          }
          await emit(s.format, { file, ...result }, () => {
            if (result.upToDate)
              return `${dest} is already up to date (${data.length} bytes, sha256 ${result.sha256.slice(0, 16)}...)`;
            const how = {
              sha256: "checked by the device's SHA-256",
              size: 'length checked (no SHA-256 on the device)',
              none: 'not checked',
            }[result.verified];
            const resumed = result.resumedFrom ? `, resumed at ${result.resumedFrom}` : '';
            return `uploaded ${file} to ${dest}: ${data.length} bytes, sha256 ${result.sha256.slice(0, 16)}..., ${how}${resumed}`;
          });
        },
      ),
    );
}
