import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../../lib/errors/index.js';
import { writeFileDurable } from './durable.js';

/**
 * The systemd unit for the agent (ADR 0268): `resources/systemd/outpost-agent.service` with its
 * placeholders filled in (Node binary, edgectl entry, agent home, extra arguments). `installUnit` writes
 * it into a unit folder (default /etc/systemd/system); enabling it is left to the operator (`systemctl
 * daemon-reload && systemctl enable --now outpost-agent`), so nothing here needs systemd to run.
 */

export const UNIT_NAME = 'outpost-agent.service';
export const DEFAULT_UNIT_DIR = '/etc/systemd/system';

export interface UnitInput {
  /** The unit template's text. */
  template: string;
  /** Absolute path of the Node binary. */
  node: string;
  /** Absolute path of bin/edgectl.js. */
  edgectl: string;
  /** The agent home (absolute). */
  home: string;
  /** The project folder (for Documentation=). */
  root: string;
  /** `--lo` for the unit's command line. */
  lo?: string;
}

/** systemd command-line quoting: plain words stay, anything else in double quotes with escapes. */
export function systemdQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '$$$$').replace(/%/g, '%%')}"`;
}

export function renderUnit(u: UnitInput): string {
  for (const [k, v] of [
    ['node', u.node],
    ['edgectl', u.edgectl],
    ['home', u.home],
  ] as const) {
    if (!path.isAbsolute(v))
      throw new OutpostError('invalid-input', `the unit needs an absolute ${k} path, not "${v}"`);
    if (/[\n\r]/.test(v)) throw new OutpostError('invalid-input', `the ${k} path contains a line break`);
  }
  if (u.lo !== undefined) {
    let url: URL;
    try {
      url = new URL(u.lo);
    } catch {
      throw new OutpostError('invalid-input', `--lo "${u.lo}" is not a URL`);
    }
    if (url.protocol !== 'https:')
      throw new OutpostError('invalid-input', `--lo "${u.lo}" must be an https:// URL`);
  }
  const extra = u.lo ? ` --lo ${systemdQuote(u.lo)}` : '';
  return u.template
    .replaceAll('@NODE@', systemdQuote(u.node))
    .replaceAll('@EDGECTL@', systemdQuote(u.edgectl))
    .replaceAll('@AGENT_HOME@', systemdQuote(u.home))
    .replaceAll('@ROOT@', u.root)
    .replaceAll('@EXTRA_ARGS@', extra);
}

/** Writes the unit (0644) into `unitDir`; returns the file written. */
export function installUnit(unitDir: string, text: string): string {
  if (!fs.existsSync(unitDir)) {
    throw new OutpostError(
      'not-found',
      `the unit folder ${unitDir} does not exist (is this a systemd host? use --unit-dir)`,
    );
  }
  const file = path.join(unitDir, UNIT_NAME);
  try {
    writeFileDurable(file, text, 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new OutpostError(
        'forbidden',
        `cannot write ${file}: permission denied (run as root, or use --unit-dir)`,
      );
    }
    throw e;
  }
  return file;
}
