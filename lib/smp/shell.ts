import { OutpostError } from '../errors/index.js';
import { deviceError, errorOf } from './errors.js';
import { Group, Op } from './header.js';
import { str } from './os.js';
import type { SmpRequester } from './requester.js';

const PROMPT = /^[\w.-]*:~\$ ?/;

export interface ShellResult {
  /** The command's return value (0 = success; Zephyr returns -8 for an unknown command). */
  ret: number;
  /** What the command printed through the shell (the `o` field, CR LF line ends as the device sends them). */
  output: string;
  /**
   * Console lines the device printed while the command ran. Programs that print with stdio
   * (Ocre's `ocre ...` commands do) may write there instead of into `output`.
   */
  console: string[];
}

export interface ShellCommands {
  /** Runs a shell command line on the device (shell group 9). Never retried: it may not be idempotent. */
  exec(argv: string[], options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<ShellResult>;
}

export function shellCommands(
  c: SmpRequester,
  consoleSource: { watchConsole(l: (line: string) => void): () => void },
): ShellCommands {
  return {
    async exec(argv, options = {}) {
      if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== 'string' || a === ''))
        throw new OutpostError('invalid-input', 'a shell command needs at least one non-empty argument');
      const lines: string[] = [];
      // Shell prompts ("uart:~$ ", "ocre:~$ ") are not output; text printed after one is.
      const stop = consoleSource.watchConsole((l) => {
        const text = l.replace(PROMPT, '');
        if (text.trim() !== '') lines.push(text);
      });
      const what = `shell "${argv.join(' ')}"`;
      try {
        const a = await c.request(Op.write, Group.shell, 0, { argv }, { what, raw: true, ...options });
        const err = errorOf(a);
        // With CONFIG_MCUMGR_GRP_SHELL_LEGACY_RC_RETURN_CODE the command's value comes as `rc`
        // next to `o`; a bare `rc` (or `err`) is an SMP error.
        if (err && (a.err !== undefined || a.o === undefined)) throw deviceError(what, err);
        const ret = typeof a.ret === 'number' ? a.ret : typeof a.rc === 'number' ? a.rc : 0;
        return { ret, output: str(a.o ?? '', 'shell output'), console: lines };
      } finally {
        stop();
      }
    },
  };
}
