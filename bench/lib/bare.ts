import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { ROOT } from './measure.js';

/** A baseline process that prints its port on its first line of stdout. */
export interface BareProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

export async function startBare(script: string, arg: unknown): Promise<BareProcess> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'lib', script), JSON.stringify(arg)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const port = await new Promise<number>((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(Number(l)));
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before listening`)));
  });
  return {
    child,
    pid: child.pid!,
    port,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
