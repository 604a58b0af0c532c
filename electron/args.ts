import type { Role } from '../core/config.js';

/** Desktop command line: `--home DIR`, `--role co|lo|all`. */
export function parseDesktopArgs(argv: string[]): { home?: string; role?: Role } {
  const out: { home?: string; role?: Role } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [k, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    const val = () => inline ?? argv[++i];
    if (k === '--home') out.home = val();
    else if (k === '--role') {
      const v = val();
      if (v === 'co' || v === 'lo' || v === 'all') out.role = v;
    }
  }
  return out;
}
