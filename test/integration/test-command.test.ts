import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SCRIPT = path.resolve('scripts/test.mjs');

/** Runs scripts/test.mjs's runSteps on stand-in steps (`node -e`), in a child process like npm does. */
function run(steps: { name: string; exit: number }[]) {
  const code = `
    const { runSteps } = await import(${JSON.stringify(SCRIPT)});
    process.exitCode = runSteps(${JSON.stringify(
      steps.map((s) => ({
        name: s.name,
        command: process.execPath,
        args: ['-e', `console.log('ran ${s.name}'); process.exit(${s.exit})`],
      })),
    )});`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('npm test', () => {
  it('runs the unit step before the browser step, through scripts/test.mjs', () => {
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toBe('node scripts/test.mjs');
    const text = fs.readFileSync(SCRIPT, 'utf8');
    const order = ["name: 'setup'", "name: 'build'", "bin('vitest')", "bin('playwright')"].map((s) =>
      text.indexOf(s),
    );
    for (const i of order) expect(i).toBeGreaterThan(0);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('says which step failed and that the browser tests did not run', () => {
    const r = run([
      { name: 'build', exit: 0 },
      { name: 'unit and integration tests (vitest)', exit: 3 },
      { name: 'browser tests (playwright)', exit: 0 },
    ]);
    expect(r.code).toBe(3);
    expect(r.out).toContain('ran build');
    expect(r.out).not.toContain('ran browser');
    expect(r.err).toContain('FAILED at step "unit and integration tests (vitest)" (exit code 3)');
    expect(r.err).toContain('NOT RUN: browser tests (playwright)');
  });

  it('says so when every step passed', () => {
    const r = run([
      { name: 'a', exit: 0 },
      { name: 'b', exit: 0 },
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('all steps passed (a, b)');
  });
});
