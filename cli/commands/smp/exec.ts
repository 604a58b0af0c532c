import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import { action, reportError } from '../../lib/action.js';
import { emit } from '../../lib/output.js';
import { addPortOptions, settings, type SmpFlags, withSmp } from './shared.js';

/** `edgectl smp exec --port P -- ARGS...`: run a shell command on the device. */
export function register(smp: Command): void {
  addPortOptions(
    smp
      .command('exec')
      .description("run a command in the device's shell (e.g. ocre ps) and print its output")
      .argument('<args...>', 'the command and its arguments (put them after --)'),
  )
    .addHelpText(
      'after',
      '\nThe exit status is 0 when the command returned 0 on the device, 1 otherwise.\n' +
        'Example:\n  edgectl smp exec --port /dev/ttyACM0 -- ocre container ps\n',
    )
    .action(
      action(async (args: string[], flags: SmpFlags, cmd: Command) => {
        const s = settings(flags);
        if (args.some((a) => a === ''))
          throw new OutpostError('invalid-input', 'empty arguments cannot be sent to the device shell');
        const r = await withSmp(s, (c, signal) => c.shell.exec(args, { timeoutMs: s.timeoutMs, signal }));
        const output = r.output.replace(/\r\n/g, '\n').replace(/^\n/, '');
        // Programs that print with stdio (ocre) may write to the console, not into the answer.
        const text = output !== '' ? output : r.console.join('\n');
        if (s.format !== 'table' || text !== '')
          await emit(s.format, { argv: args, ret: r.ret, output, console: r.console }, () => text);
        if (r.ret !== 0) {
          reportError(
            new OutpostError('smp/command-failed', `"${args.join(' ')}" returned ${r.ret} on the device`),
            Boolean(cmd.optsWithGlobals().debug),
          );
          process.exitCode = 1;
        }
      }),
    );
}
