// `npm test`: prepares the machine, builds, then runs the unit and integration tests (vitest) and the
// browser tests (Playwright), in that order. When a step fails, the later steps do not run, and the
// last lines say which step failed and which ones did not run, so a red unit step is never read as
// "the browser tests passed too".
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

/** The steps of `npm test`, in order. */
export function defaultSteps() {
  return [
    { name: 'setup', command: 'sh', args: [path.join(root, 'scripts', 'setup.sh')] },
    { name: 'build', command: process.execPath, args: [path.join(root, 'scripts', 'build.mjs')] },
    // The binaries are looked up when the step runs: setup may have installed them a moment ago.
    { name: 'unit and integration tests (vitest)', command: () => bin('vitest'), args: ['run'] },
    { name: 'browser tests (playwright)', command: () => bin('playwright'), args: ['test'] },
  ];
}

/**
 * Runs the steps one after another, each with the terminal as its output. Returns the exit code: 0
 * when every step passed, otherwise the failing step's code (1 when it died of a signal).
 */
export function runSteps(steps, { log = (line) => process.stderr.write(line + '\n'), cwd = root } = {}) {
  for (const [i, step] of steps.entries()) {
    const command = typeof step.command === 'function' ? step.command() : step.command;
    const r = spawnSync(command, step.args, { cwd, stdio: 'inherit' });
    const code = r.error ? 127 : (r.status ?? 1);
    if (code === 0) continue;
    const why = r.error
      ? `could not start ${command}: ${r.error.message}`
      : r.signal
        ? `killed by ${r.signal}`
        : `exit code ${code}`;
    const notRun = steps.slice(i + 1).map((s) => s.name);
    log('');
    log(`npm test: FAILED at step "${step.name}" (${why}).`);
    if (notRun.length) log(`npm test: NOT RUN: ${notRun.join(', ')}.`);
    return code;
  }
  log('');
  log(`npm test: all steps passed (${steps.map((s) => s.name).join(', ')}).`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = runSteps(defaultSteps());
}
