import { OutpostError, isOutpostError } from '../../../lib/errors/index.js';
import { reportError } from '../../lib/action.js';

/**
 * Progress on stderr for transfers to and from a device (small files: always shown). cli-progress
 * is loaded here, not when edgectl starts.
 */
export async function transferProgress(name: string) {
  const { createProgress } = await import('../../lib/progress.js');
  const progress = createProgress({ minBytes: 0 });
  return {
    update: (p: { done: number; total: number }) => progress.update(name, p.done, p.total),
    finish: () => progress.finish(name),
    stop: () => progress.stop(),
  };
}

/** Ctrl-C: one line saying what happened and how to go on, exit 130. */
export function reportCancelled(err: unknown, message: string, debug: boolean): boolean {
  if (!isOutpostError(err, 'cancelled')) return false;
  reportError(new OutpostError('cancelled', message), debug);
  process.exitCode = 130;
  return true;
}
