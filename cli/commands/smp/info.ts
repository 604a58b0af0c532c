import type { Command } from 'commander';
import type { SmpClient } from '../../../lib/smp/index.js';
import { action } from '../../lib/action.js';
import { emit, keyValues } from '../../lib/output.js';
import { addPortOptions, settings, type SmpFlags, withSmp } from './shared.js';

const FIELDS = [
  ['kernel', 's'],
  ['node', 'n'],
  ['release', 'r'],
  ['kernelVersion', 'v'],
  ['build', 'b'],
  ['machine', 'm'],
  ['processor', 'p'],
  ['board', 'i'],
  ['os', 'o'],
] as const;

/** Runs a read the firmware may not offer: its absence (or an error answer) is undefined. */
async function optional<T>(fn: () => Promise<T>): Promise<T | undefined> {
  const { isOutpostError } = await import('../../../lib/errors/index.js');
  try {
    return await fn();
  } catch (err) {
    if (isOutpostError(err, 'smp/device-error')) return undefined;
    throw err;
  }
}

async function gather(c: SmpClient) {
  const os: Partial<Record<(typeof FIELDS)[number][0], string>> = {};
  for (const [name, letter] of FIELDS) os[name] = await optional(() => c.os.info(letter));
  const params = await optional(() => c.os.params());
  const datetime = await optional(() => c.os.datetime());
  const images = await optional(() => c.img.list());
  return {
    ...os,
    mcumgr: params ?? null,
    datetime: datetime ?? null,
    firmware:
      images?.map((i) => ({ slot: i.slot, version: i.version, active: i.active, confirmed: i.confirmed })) ??
      null,
  };
}

/** `edgectl smp info --port P`: what is this board and firmware. */
export function register(smp: Command): void {
  addPortOptions(
    smp.command('info').description('show the board, OS, firmware slots and MCUmgr buffer of the device'),
  ).action(
    action(async (flags: SmpFlags) => {
      const s = settings(flags);
      const info = await withSmp(s, (c) => gather(c));
      await emit(s.format, info, () => {
        const running = info.firmware?.find((f) => f.active);
        return keyValues([
          ['board', info.board],
          ['os', [info.kernel, info.kernelVersion].filter(Boolean).join(' ') || undefined],
          ['release', info.release],
          ['build', info.build],
          ['machine', [info.machine, info.processor].filter(Boolean).join(' / ') || undefined],
          ['node', info.node],
          [
            'firmware',
            running ? `${running.version}${running.confirmed ? '' : ' (testing, not confirmed)'}` : undefined,
          ],
          [
            'mcumgr buffer',
            info.mcumgr ? `${info.mcumgr.bufSize} bytes x ${info.mcumgr.bufCount}` : undefined,
          ],
          ['datetime', info.datetime ?? 'not set'],
        ]);
      });
    }),
  );
}
