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

/** How a rendered unit starts the agent: its command line and the environment it sets. */
export interface UnitLaunch {
  /** ExecStart's words (the Node binary first), systemd's double quotes undone. */
  argv: string[];
  /** The `Environment=` assignments. */
  env: Record<string, string>;
}

/**
 * Splits a unit line's value into words as systemd does: double quotes may open anywhere in a word,
 * a backslash escapes the next character inside them, `$$` is `$` and `%%` is `%`.
 */
function unitWords(s: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"') quoted = false;
      else word += c === '\\' && i + 1 < s.length ? s[++i]! : c;
    } else if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word ??= '';
      if (c === '"') quoted = true;
      else word += c;
    }
  }
  if (word !== undefined) words.push(word);
  return words.map((w) => w.replace(/\$\$/g, '$').replace(/%%/g, '%'));
}

/**
 * Reads the command line and environment of a rendered unit, so that a benchmark starts the agent
 * exactly as systemd would (the Node flags on ExecStart, NODE_OPTIONS and the rest of `Environment=`).
 */
export function unitLaunch(unit: string): UnitLaunch {
  let argv: string[] | undefined;
  const env: Record<string, string> = {};
  for (const line of unit.split('\n')) {
    const m = /^(ExecStart|Environment)=(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[1] === 'ExecStart') argv = unitWords(m[2]!);
    else
      for (const w of unitWords(m[2]!)) {
        const eq = w.indexOf('=');
        if (eq > 0) env[w.slice(0, eq)] = w.slice(eq + 1);
      }
  }
  if (!argv || argv.length === 0) throw new OutpostError('invalid-input', 'the unit has no ExecStart line');
  return { argv, env };
}
