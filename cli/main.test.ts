import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, namedCommand } from './main.js';

const argv = (...a: string[]) => ['node', 'edgectl', ...a];

/** Every command path of a program, with its options: the tree a user can reach. */
function tree(c: Command, prefix = ''): string[] {
  const here = `${prefix}${c.name()} [${c.options.map((o) => o.flags).join(', ')}]`;
  return [here, ...c.commands.flatMap((s) => tree(s, `${prefix}${c.name()} `))];
}

describe('namedCommand', () => {
  it('finds the top-level command after the global options, or after help', () => {
    expect(namedCommand(argv('co', 'status'))).toBe('co');
    expect(namedCommand(argv('--home', '/x', 'agent', 'status'))).toBe('agent');
    expect(namedCommand(argv('--debug', 'site', 'ca', 'init'))).toBe('site');
    expect(namedCommand(argv('help', 'smp'))).toBe('smp');
    expect(namedCommand(argv('server', '--port', '0'))).toBe('server');
  });

  it('is null when none is named or the name is unknown', () => {
    expect(namedCommand(argv())).toBeNull();
    expect(namedCommand(argv('--help'))).toBeNull();
    expect(namedCommand(argv('--home', 'co'))).toBeNull();
    expect(namedCommand(argv('cp', 'status'))).toBeNull();
    expect(namedCommand(argv('help'))).toBeNull();
  });
});

describe('buildProgram', () => {
  it('builds the named group whole and only the heads of the others', () => {
    const full = tree(buildProgram());
    const onlyCo = tree(buildProgram('co'));
    expect(onlyCo.filter((l) => l.startsWith('edgectl co'))).toEqual(
      full.filter((l) => l.startsWith('edgectl co')),
    );
    expect(onlyCo.some((l) => l.startsWith('edgectl smp image'))).toBe(false);
    expect(full.some((l) => l.startsWith('edgectl smp image'))).toBe(true);
    expect(onlyCo.length).toBeLessThan(full.length);
  });

  it('shows the same top-level help with heads only as with the whole tree', () => {
    expect(buildProgram(null).helpInformation()).toBe(buildProgram().helpInformation());
    for (const name of ['co', 'oci', 'registry', 'site', 'smp', 'agent', 'bundle', 'server', 'discover']) {
      const head = buildProgram(null).commands.find((c) => c.name() === name)!;
      const whole = buildProgram().commands.find((c) => c.name() === name)!;
      expect(head.description()).toBe(whole.description());
      expect(head.options.map((o) => o.flags)).toEqual(whole.options.map((o) => o.flags));
    }
  });
});
