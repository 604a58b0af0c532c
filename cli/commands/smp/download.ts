import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import type { DownloadResult } from '../../../lib/smp/index.js';
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

/** `edgectl smp download --port P SRC FILE`: copy a file from the device. */
export function register(smp: Command): void {
  addPortOptions(
    smp
      .command('download')
      .description("copy a file from the device's file system (checked against the device's SHA-256)")
      .argument('<src>', 'absolute path on the device')
      .argument('<file>', 'local file to write (replaced only once the copy is complete and checked)'),
  ).action(
    action(async (src: string, file: string, flags: SmpFlags, cmd: Command) => {
      const s = settings(flags);
      const dir = path.dirname(path.resolve(file));
      if (!fs.existsSync(dir)) throw new OutpostError('invalid-input', `${dir}: no such folder`);
      const progress = await transferProgress(path.basename(src));
      let result: DownloadResult;
      try {
        result = await withSmp(s, (c, signal) =>
          c.fs.download(src, { signal, onProgress: (p) => progress.update(p) }),
        );
        progress.finish();
        progress.stop();
      } catch (err) {
        progress.stop();
        if (
          reportCancelled(
            err,
            `download of ${src} cancelled; ${file} was not written`,
            Boolean(cmd.optsWithGlobals().debug),
          )
        )
          return;
        throw err;
      }
      const partial = `${file}.partial`;
      fs.writeFileSync(partial, result.data);
      fs.renameSync(partial, file);
      const { data: _data, ...rest } = result;
      await emit(s.format, { file, size: result.data.length, ...rest }, () => {
        const how =
          result.verified === 'sha256'
            ? "checked by the device's SHA-256"
            : 'length checked (no SHA-256 on the device)';
        return `downloaded ${src} to ${file}: ${result.data.length} bytes, sha256 ${result.sha256.slice(0, 16)}..., ${how}`;
      });
    }),
  );
}
