import type { Command } from 'commander';
import { OutpostError } from '../../lib/errors/index.js';
import { isServerAnswer } from '../../lib/contract/index.js';
import { escapeControls } from './output.js';

/**
 * Wraps a command's action: expected failures (OutpostError) print one line on stderr and exit
 * non-zero; unexpected ones print one line plus a hint, and the stack only with --debug.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void) {
  return async (...args: A): Promise<void> => {
    try {
      await fn(...args);
    } catch (err) {
      const cmd = args[args.length - 1] as Command | undefined;
      const debug = Boolean(cmd?.optsWithGlobals?.().debug) || process.env.EDGE_DEBUG === '1';
      reportError(err, debug);
      process.exitCode = exitCodeFor(err);
    }
  };
}

export function reportError(err: unknown, debug: boolean): void {
  // What the server says may quote names: escaped like table output.
  if (err instanceof OutpostError) {
    process.stderr.write(`edgectl: ${escapeControls(err.message, true)}\n`);
    if (err.errors?.length && !err.message.includes(err.errors[0]!.message)) {
      for (const e of err.errors) {
        const loc = e.file ? `${e.file}${e.line ? `:${e.line}${e.column ? `:${e.column}` : ''}` : ''}: ` : '';
        process.stderr.write(`  ${escapeControls(`${loc}${e.field}: ${e.message}`, true)}\n`);
      }
    }
  } else {
    const msg = escapeControls(err instanceof Error ? err.message : String(err), true);
    process.stderr.write(
      `edgectl: unexpected error: ${msg}${debug ? '' : ' (run with --debug for details)'}\n`,
    );
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof OutpostError) {
    // Bad input, whoever found it: a field of the call, a config file, a margo.yaml or model file.
    if (err.code === 'invalid-input' || err.code === 'invalid-config' || /\/invalid-[a-z-]+$/.test(err.code))
      return 2;
    if (err.code === 'server-not-running') return 3;
    // Not reaching the server (or the LO, a registry) is 3; the server reporting that it could not
    // reach something else (a git repository) is an ordinary failure.
    if (err.code === 'network-error') return isServerAnswer(err) ? 1 : 3;
    if (err.code === 'unauthorized' || err.code === 'forbidden') return 4;
    // A serial device that does not answer, went away, or whose port another program holds.
    if (err.code === 'smp/no-answer' || err.code === 'smp/disconnected' || err.code === 'smp/port-busy')
      return 3;
    if (err.code === 'smp/port-denied') return 4;
    if (err.code === 'smp/port-not-found') return 5;
    if (err.code === 'not-found' || err.code.endsWith('/not-found')) return 5;
    if (err.code === 'unauthorized' || err.code.endsWith('/unauthorized') || err.code.endsWith('/forbidden'))
      return 4;
    if (err.code === 'deployment-failed' || err.code === 'not-placeable') return 6;
    if (err.code === 'cancelled') return 130;
    // A refused bundle is bad input (its file); a full disk or a failed write is not.
    if (err.code.startsWith('bundle/') && err.status >= 400 && err.status < 500) return 2;
    return 1;
  }
  return 1;
}
