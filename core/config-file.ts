import fs from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { OutpostError } from '../lib/errors/index.js';
import { parseConfig, mergeConfig, type Config, type ConfigOverrides } from './config.js';

/**
 * Reads `<home>/config.yaml` (absent means all defaults), applies command-line overrides and validates.
 * Errors name the file, the line and column for syntax errors, and every offending field.
 */
export function loadConfig(file: string, overrides: ConfigOverrides = {}): Config {
  let fromFile: unknown = {};
  let text: string | undefined;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new OutpostError('invalid-config', `cannot read ${file}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
  if (text !== undefined && text.trim() !== '') {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { prettyErrors: false, lineCounter, uniqueKeys: true });
    if (doc.errors.length) {
      const e = doc.errors[0]!;
      const pos = lineCounter.linePos(e.pos[0]);
      throw new OutpostError(
        'invalid-config',
        `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}`,
      );
    }
    fromFile = doc.toJS({ maxAliasCount: 100 });
    if (fromFile === null) fromFile = {};
    if (typeof fromFile !== 'object' || Array.isArray(fromFile)) {
      throw new OutpostError('invalid-config', `${file}: expected a mapping (key: value) at the top level`);
    }
  }
  return parseConfig(mergeConfig(fromFile, overrides), file);
}
