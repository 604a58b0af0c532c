import type { Role } from '../core/config.js';

export interface DesktopArgs {
  home?: string;
  role?: Role;
  /** Offer "sign in as this computer's administrator" (default); `--no-local-admin`: API tokens only. */
  localAdmin: boolean;
}

/** Desktop command line: `--home DIR`, `--role co|lo|all`, `--no-local-admin`. */
export function parseDesktopArgs(argv: string[]): DesktopArgs {
  const out: DesktopArgs = { localAdmin: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [k, inline] = a.includes('=')
      ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
      : [a, undefined];
    const val = () => inline ?? argv[++i];
    if (k === '--home') out.home = val();
    else if (k === '--no-local-admin') out.localAdmin = false;
    else if (k === '--role') {
      const v = val();
      if (v === 'co' || v === 'lo' || v === 'all') out.role = v;
    }
  }
  return out;
}
