import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { OutpostError } from '../../../lib/errors/index.js';
import { verifyArtifact } from '../fs-util.js';
import { RuntimeErrorCode, type FileArtifact } from '../types.js';

/** The one file name Margo allows for the compose file (SUP "compose-oci"). */
export const COMPOSE_FILE = 'compose.yaml';

export interface ExtractLimits {
  /** Total bytes of file content (default 64 MiB). */
  maxBytes?: number;
  /** Number of entries (default 10 000). */
  maxEntries?: number;
}

export interface ExtractedCompose {
  /** Absolute path of the extracted top-level folder (holds compose.yaml). */
  dir: string;
  /** Its name in the archive. */
  topName: string;
  files: number;
  bytes: number;
  /** Entries whose setuid, setgid or sticky bit was dropped. */
  strippedModes: string[];
}

function unsafe(archive: string, message: string): OutpostError {
  return new OutpostError(RuntimeErrorCode.unsafeArchive, `compose archive ${archive}: ${message}`, {
    status: 422,
    data: { archive },
  });
}

/**
 * Checks a path from the archive and returns its segments: relative, no `..`, no empty or `.` tricks,
 * no backslashes or NUL. A trailing slash (directories) is allowed.
 */
function segmentsOf(name: string, archive: string, what = 'entry'): string[] {
  if (name.includes('\0')) throw unsafe(archive, `${what} name contains a NUL byte`);
  if (name.includes('\\')) throw unsafe(archive, `${what} ${JSON.stringify(name)} contains a backslash`);
  if (name.startsWith('/')) throw unsafe(archive, `${what} ${JSON.stringify(name)} is an absolute path`);
  const segs = name
    .split('/')
    .filter((s, i, all) => !(s === '' && i === all.length - 1) && !(s === '.' && i === 0));
  if (segs.length === 0) throw unsafe(archive, `${what} has an empty name`);
  for (const s of segs) {
    if (s === '..') throw unsafe(archive, `${what} ${JSON.stringify(name)} contains ".."`);
    if (s === '' || s === '.')
      throw unsafe(archive, `${what} ${JSON.stringify(name)} is not a normalised path`);
  }
  return segs;
}

/**
 * Verifies the archive's digest, then extracts a Margo compose archive (tar.gz) safely into `dest`
 * (which must not exist): exactly one top-level folder holding `compose.yaml`; absolute paths, `..`,
 * links that leave the folder, entries below a symlink, device nodes, FIFOs and duplicates are refused;
 * setuid/setgid/sticky bits are dropped; sizes are capped. Extraction goes to a temporary sibling of
 * `dest` that is renamed into place only when everything was fine: on any error nothing is left.
 */
export async function extractComposeArchive(
  artifact: FileArtifact,
  dest: string,
  limits: ExtractLimits = {},
): Promise<ExtractedCompose> {
  const archive = path.basename(artifact.path);
  await verifyArtifact(artifact, `compose archive ${archive}`);
  const maxBytes = limits.maxBytes ?? 64 * 1024 * 1024;
  const maxEntries = limits.maxEntries ?? 10_000;
  if (fs.existsSync(dest))
    throw new OutpostError('conflict', `extraction target ${dest} already exists`, { status: 409 });
  const tmp = `${dest}.extract-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(tmp, { recursive: true, mode: 0o755 });
  const result = { files: 0, bytes: 0, strippedModes: [] as string[] };
  let top: string | undefined;
  const kinds = new Map<string, 'file' | 'directory' | 'symlink'>();
  try {
    // Counts decompressed bytes so a gzip bomb stops early (content cap plus tar's own overhead).
    let inflated = 0;
    const inflateCap = maxBytes + 1024 * (maxEntries + 16);
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        inflated += chunk.length;
        if (inflated > inflateCap) cb(unsafe(archive, `expands to more than ${inflateCap} bytes`));
        else cb(null, chunk);
      },
    });
    const extract = tar.extract();
    const reading = pipeline(fs.createReadStream(artifact.path), zlib.createGunzip(), counter, extract);
    // Keeps the pipeline's rejection handled even when the loop below throws first.
    reading.catch(() => undefined);
    let entries = 0;
    for await (const entry of extract) {
      const h = entry.header;
      if (++entries > maxEntries) throw unsafe(archive, `has more than ${maxEntries} entries`);
      const segs = segmentsOf(h.name, archive);
      const rel = segs.join('/');
      if (top === undefined) top = segs[0];
      else if (segs[0] !== top) {
        throw unsafe(
          archive,
          `has more than one top-level entry (${JSON.stringify(top)} and ${JSON.stringify(segs[0])})`,
        );
      }
      const type = h.type ?? 'file';
      if (segs.length === 1 && type !== 'directory') {
        throw unsafe(archive, `top-level entry ${JSON.stringify(h.name)} is not a folder`);
      }
      if (kinds.has(rel)) throw unsafe(archive, `has a duplicate entry ${JSON.stringify(rel)}`);
      for (let i = 1; i < segs.length; i++) {
        const parent = segs.slice(0, i).join('/');
        const k = kinds.get(parent);
        if (k === 'symlink')
          throw unsafe(
            archive,
            `entry ${JSON.stringify(rel)} lies below the symlink ${JSON.stringify(parent)}`,
          );
        if (k === 'file')
          throw unsafe(archive, `entry ${JSON.stringify(rel)} lies below the file ${JSON.stringify(parent)}`);
      }
      const target = path.join(tmp, ...segs);
      const mode = (h.mode ?? 0o644) & 0o7777;
      if (mode & 0o7000) result.strippedModes.push(rel);
      switch (type) {
        case 'directory':
          fs.mkdirSync(target, { recursive: true, mode: 0o755 });
          fs.chmodSync(target, (mode & 0o777) | 0o700);
          kinds.set(rel, 'directory');
          entry.resume();
          break;
        case 'file':
        case 'contiguous-file': {
          const size = h.size ?? 0;
          if (result.bytes + size > maxBytes)
            throw unsafe(archive, `holds more than ${maxBytes} bytes of files`);
          result.bytes += size;
          fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
          await pipeline(entry, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 }));
          fs.chmodSync(target, (mode & 0o777) | 0o400);
          kinds.set(rel, 'file');
          result.files++;
          break;
        }
        case 'symlink': {
          const link = h.linkname ?? '';
          if (link === '' || link.startsWith('/'))
            throw unsafe(
              archive,
              `symlink ${JSON.stringify(rel)} points to an absolute path ${JSON.stringify(link)}`,
            );
          const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(rel), link));
          if (resolved !== top && !resolved.startsWith(`${top}/`)) {
            throw unsafe(
              archive,
              `symlink ${JSON.stringify(rel)} -> ${JSON.stringify(link)} leaves the folder ${JSON.stringify(top)}`,
            );
          }
          fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
          fs.symlinkSync(link, target);
          kinds.set(rel, 'symlink');
          entry.resume();
          break;
        }
        case 'link': {
          const linkSegs = segmentsOf(
            h.linkname ?? '',
            archive,
            `hard link target of ${JSON.stringify(rel)}`,
          );
          const to = linkSegs.join('/');
          if (linkSegs[0] !== top)
            throw unsafe(
              archive,
              `hard link ${JSON.stringify(rel)} -> ${JSON.stringify(to)} leaves the folder ${JSON.stringify(top)}`,
            );
          if (kinds.get(to) !== 'file')
            throw unsafe(
              archive,
              `hard link ${JSON.stringify(rel)} -> ${JSON.stringify(to)} does not name an earlier file`,
            );
          // A copy, not a link: the extracted tree never shares inodes.
          fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o755 });
          fs.copyFileSync(path.join(tmp, ...linkSegs), target, fs.constants.COPYFILE_EXCL);
          fs.chmodSync(target, (mode & 0o777) | 0o400);
          kinds.set(rel, 'file');
          result.files++;
          entry.resume();
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo':
          throw unsafe(
            archive,
            `entry ${JSON.stringify(rel)} is a ${type}, which compose archives may not hold`,
          );
        default:
          throw unsafe(archive, `entry ${JSON.stringify(rel)} has an unsupported type ${String(type)}`);
      }
    }
    await reading;
    if (top === undefined) throw unsafe(archive, 'is empty');
    if (kinds.get(`${top}/${COMPOSE_FILE}`) !== 'file') {
      throw unsafe(archive, `has no ${COMPOSE_FILE} file in its top-level folder ${JSON.stringify(top)}`);
    }
    fs.renameSync(path.join(tmp, top), dest);
    fs.rmSync(tmp, { recursive: true, force: true });
    return { dir: dest, topName: top, ...result };
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (e instanceof OutpostError) throw e;
    const err = e as NodeJS.ErrnoException;
    const corrupt = err.code?.startsWith('Z_') || /tar|header|unexpected end/i.test(err.message);
    throw unsafe(
      archive,
      corrupt ? `is not a valid tar.gz: ${err.message}` : `cannot be extracted: ${err.message}`,
    );
  }
}
