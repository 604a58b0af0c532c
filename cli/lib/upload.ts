import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../../lib/errors/index.js';
import type { Upload } from '../../lib/contract/index.js';

/** Files larger than this are not sent at all; the server applies its own (smaller) limits. */
export const MAX_UPLOAD_FILE = 8 * 1024 * 1024;
const MAX_RESOURCE_FILES = 200;

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * Reads a description or model file (or the `defaultName` inside a folder) and the files beside it
 * that the text names by relative path (icons, release notes...), ready to upload.
 */
export interface ReadUploadOptions {
  /** Upload what a symbolic link given on the command line points to (default: refuse, naming it). */
  followSymlinks?: boolean;
  /** Told each symbolic link that is followed (edgectl prints it on stderr). */
  onNote?: (message: string) => void;
}

export function readUpload(target: string, defaultName: string, options: ReadUploadOptions = {}): Upload {
  let st: fs.Stats;
  try {
    checkLink(target, options);
    st = fs.statSync(target);
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw new OutpostError('not-found', `${target}: no such file or folder`);
  }
  const file = st.isDirectory() ? path.join(target, defaultName) : target;
  let fst: fs.Stats;
  try {
    if (file !== target) checkLink(file, options);
    fst = fs.statSync(file);
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw new OutpostError(
      'not-found',
      st.isDirectory() ? `${target} holds no ${defaultName}` : `${file}: no such file`,
    );
  }
  if (!fst.isFile()) throw new OutpostError('invalid-input', `${file} is not a regular file`);
  if (fst.size > MAX_UPLOAD_FILE) {
    throw new OutpostError(
      'payload-too-large',
      `${file} is ${mib(fst.size)}; files over ${mib(MAX_UPLOAD_FILE)} are not uploaded`,
    );
  }
  const content = decodeUtf8(fs.readFileSync(file), file);
  const base = path.dirname(file);
  const resources: Record<string, string> = {};
  let budget = MAX_UPLOAD_FILE;
  let seen = 0;
  const walk = (dir: string, depth: number) => {
    if (depth > 3 || seen > MAX_RESOURCE_FILES) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs, depth + 1);
      else if (e.isFile() && abs !== file) {
        seen++;
        const rel = path.relative(base, abs).split(path.sep).join('/');
        if (!content.includes(rel)) continue;
        const size = fs.statSync(abs).size;
        if (size > budget) continue;
        budget -= size;
        resources[rel] = fs.readFileSync(abs).toString('base64');
      }
    }
  };
  walk(base, 0);
  return { fileName: path.basename(file), content, ...(Object.keys(resources).length ? { resources } : {}) };
}

/**
 * A symbolic link is never followed silently: it may point anywhere (/etc/passwd), and what it points
 * to would be uploaded to the server. Refused unless asked for; when followed, said so.
 */
function checkLink(p: string, options: ReadUploadOptions): void {
  if (!fs.lstatSync(p).isSymbolicLink()) return;
  let to: string;
  try {
    to = fs.realpathSync(p);
  } catch {
    throw new OutpostError('not-found', `${p} is a symbolic link to something that does not exist`);
  }
  if (!options.followSymlinks)
    throw new OutpostError(
      'invalid-input',
      `${p} is a symbolic link to ${to}; it is not followed (give ${to} itself, or pass --follow-symlinks to upload it)`,
    );
  options.onNote?.(`following the symbolic link ${p} -> ${to}`);
}

/**
 * The file's text, byte for byte (a byte-order mark is kept: the server stores the exact original).
 * Anything that is not UTF-8 is refused here: decoding it leniently would upload other bytes than the
 * file holds.
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new OutpostError(
      'invalid-input',
      `${file} is not UTF-8 text (Margo descriptions and device model files are YAML or JSON in UTF-8)`,
    );
  }
}
