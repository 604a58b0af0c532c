import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { parse as parseYaml } from 'yaml';
import { OutpostError } from '../errors/index.js';
import { hashFile } from './digest.js';
import { Annotation, MediaType, type WasmConfig } from './media-types.js';
import type { PushBlob } from './push.js';

export type PushKind = 'wasm' | 'compose' | 'margo-app' | 'generic';

/** What `edgectl oci push` sends for a file, with what it took the file for. */
export interface PushPlan {
  kind: PushKind;
  artifactType?: string;
  config?: PushBlob;
  files: PushBlob[];
  annotations?: Record<string, string>;
  /** What the file is pushed as, a noun phrase (`a WASM module (config …, layer …)`): `pushing <file> as <reason>`. */
  reason: string;
  /** Things the publisher should know (e.g. the tag differs from the Margo version). */
  warnings: string[];
}

export interface PlanOverrides {
  artifactType?: string;
  /** Media type of the (main) layer. */
  mediaType?: string;
  /** The tag being pushed to, to check Margo's "tag = metadata.version". */
  tag?: string;
}

/** Margo resource fields of `metadata.catalog.application` and their media type stem. */
const MARGO_RESOURCES = ['icon', 'descriptionFile', 'licenseFile', 'releaseNotes'] as const;

const FORMAT_BY_EXT: Record<string, string> = {
  png: 'png',
  jpg: 'jpeg',
  jpeg: 'jpeg',
  svg: 'svg+xml',
  gif: 'gif',
  webp: 'webp',
  ico: 'x-icon',
  md: 'markdown',
  markdown: 'markdown',
  txt: 'plain',
  pdf: 'pdf',
  html: 'html',
  htm: 'html',
};

const MEDIA_TYPE = /^[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,126}\/[a-zA-Z0-9][a-zA-Z0-9!#$&^_.+-]{0,126}$/;

function invalid(message: string): OutpostError {
  return new OutpostError('invalid-input', message);
}

/**
 * Chooses what to push for one file:
 * - `*.wasm` (or a file starting with the WASM magic): WASM config + one `application/wasm` layer;
 * - `*.tar.gz`/`*.tgz` holding `<dir>/compose.yaml`: a Margo compose archive;
 * - a file named `margo.yaml`: a Margo application package, with the resources its
 *   `metadata.catalog.application` names (icon, descriptionFile, licenseFile, releaseNotes) as layers;
 * - anything else needs `artifactType` (and takes `mediaType`, default `application/octet-stream`).
 * Explicit `artifactType`/`mediaType` override the detected ones. Every layer gets a title annotation.
 */
export async function planPush(file: string, overrides: PlanOverrides = {}): Promise<PushPlan> {
  for (const [k, v] of [
    ['artifact type', overrides.artifactType],
    ['media type', overrides.mediaType],
  ] as const)
    if (v !== undefined && !MEDIA_TYPE.test(v)) throw invalid(`"${v}" is not a valid ${k} (type/subtype)`);
  let st: fs.Stats;
  try {
    st = await fsp.stat(file);
  } catch (err) {
    throw invalid(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!st.isFile()) throw invalid(`${file} is not a regular file`);
  const base = path.basename(file);
  const title = { [Annotation.title]: base };

  if (base === 'margo.yaml') return planMargoApp(file, overrides);

  if (/\.wasm$/i.test(base) || (await startsWith(file, Buffer.from([0, 0x61, 0x73, 0x6d])))) {
    const { digest } = await hashFile(file);
    const config: WasmConfig = { architecture: 'wasm', os: 'wasip1', layerDigests: [digest] };
    return {
      kind: 'wasm',
      ...(overrides.artifactType ? { artifactType: overrides.artifactType } : {}),
      config: { bytes: Buffer.from(JSON.stringify(config)), mediaType: MediaType.wasmConfig },
      files: [{ path: file, mediaType: overrides.mediaType ?? MediaType.wasmLayer, annotations: title }],
      reason: `a WASM module (config ${MediaType.wasmConfig}, layer ${overrides.mediaType ?? MediaType.wasmLayer})`,
      warnings: [],
    };
  }

  if (/\.(tar\.gz|tgz)$/i.test(base) && !overrides.artifactType) {
    const entries = await listTarGz(file);
    if (entries.some((e) => /(^|\/)(compose\.ya?ml|docker-compose\.ya?ml)$/.test(stripDot(e.name)))) {
      const problem = composeLayoutProblem(entries);
      if (problem) throw invalid(`${file} is not a valid Margo compose archive: ${problem}`);
      return {
        kind: 'compose',
        artifactType: MediaType.composeArtifact,
        files: [{ path: file, mediaType: overrides.mediaType ?? MediaType.composeLayer, annotations: title }],
        reason: `a Margo compose archive (${MediaType.composeArtifact}): it holds a compose.yaml`,
        warnings: [],
      };
    }
  }

  if (!overrides.artifactType)
    throw invalid(
      `cannot tell what kind of artifact ${base} is (not .wasm, a compose .tar.gz or margo.yaml): pass --artifact-type (and --media-type)`,
    );
  return {
    kind: 'generic',
    artifactType: overrides.artifactType,
    files: [{ path: file, mediaType: overrides.mediaType ?? MediaType.octetStream, annotations: title }],
    reason: `a generic artifact (${overrides.artifactType})`,
    warnings: [],
  };
}

async function planMargoApp(file: string, overrides: PlanOverrides): Promise<PushPlan> {
  let doc: unknown;
  try {
    doc = parseYaml(await fsp.readFile(file, 'utf8'));
  } catch (err) {
    throw invalid(`${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const metadata = (doc as { metadata?: Record<string, unknown> } | null)?.metadata;
  if (!metadata || typeof metadata !== 'object')
    throw invalid(`${file} has no metadata: is it a Margo ApplicationDescription?`);
  const app = (metadata.catalog as { application?: Record<string, unknown> } | undefined)?.application ?? {};
  const dir = path.dirname(path.resolve(file));
  const files: PushBlob[] = [
    {
      path: file,
      mediaType: overrides.mediaType ?? MediaType.margoAppDescription,
      annotations: { [Annotation.title]: 'margo.yaml' },
    },
  ];
  for (const field of MARGO_RESOURCES) {
    const ref = app[field];
    if (ref === undefined || ref === null || ref === '') continue;
    const where = `metadata.catalog.application.${field}`;
    if (typeof ref !== 'string') throw invalid(`${file}: ${where} must be a relative file path`);
    if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) continue; // a URL, not a packaged file
    const rel = path.posix.normalize(ref.replace(/\\/g, '/'));
    if (path.posix.isAbsolute(rel) || rel === '..' || rel.startsWith('../'))
      throw invalid(`${file}: ${where} "${ref}" points outside the package folder`);
    const abs = path.join(dir, rel);
    if (!fs.existsSync(abs)) throw invalid(`${file}: ${where} names ${ref}, which does not exist`);
    const ext = path.extname(rel).slice(1).toLowerCase();
    const format = FORMAT_BY_EXT[ext] ?? (ext || 'octet-stream');
    files.push({
      path: abs,
      mediaType: `application/vnd.margo.app.${field}.v1+${format}`,
      annotations: { [Annotation.title]: rel, [Annotation.margoResource]: where },
    });
  }
  const version = typeof metadata.version === 'string' ? metadata.version : undefined;
  const warnings: string[] = [];
  if (version && overrides.tag && overrides.tag !== version && overrides.tag !== version.replace(/\+/g, '_'))
    warnings.push(`Margo expects the tag to equal metadata.version (${version}), not ${overrides.tag}`);
  const name = typeof metadata.name === 'string' ? metadata.name : undefined;
  return {
    kind: 'margo-app',
    artifactType: overrides.artifactType ?? MediaType.margoApp,
    files,
    annotations: {
      ...(version ? { 'org.opencontainers.image.version': version } : {}),
      ...(name ? { [Annotation.title]: name } : {}),
    },
    reason: `a Margo application package (${overrides.artifactType ?? MediaType.margoApp}) with ${files.length - 1} resource file(s)`,
    warnings,
  };
}

async function startsWith(file: string, magic: Buffer): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(magic.length);
    const { bytesRead } = await fh.read(buf, 0, magic.length, 0);
    return bytesRead === magic.length && buf.equals(magic);
  } finally {
    await fh.close();
  }
}

export interface TarEntry {
  name: string;
  type: string;
  linkname?: string;
}

/** Lists the entries of a tar.gz without extracting it. */
export async function listTarGz(file: string): Promise<TarEntry[]> {
  const extract = tar.extract();
  const piping = pipeline(fs.createReadStream(file), zlib.createGunzip(), extract);
  const entries: TarEntry[] = [];
  try {
    for await (const entry of extract) {
      entries.push({
        name: entry.header.name,
        type: entry.header.type ?? 'file',
        ...(entry.header.linkname ? { linkname: entry.header.linkname } : {}),
      });
      entry.resume();
    }
    await piping;
  } catch (err) {
    piping.catch(() => undefined);
    throw invalid(`${file} is not a gzip-compressed tar archive: ${(err as Error).message}`);
  }
  return entries;
}

function stripDot(name: string): string {
  return name.replace(/^(\.\/)+/, '');
}

/**
 * Margo's compose archive rules: exactly one top-level directory holding `compose.yaml`, no absolute
 * paths, no `..`, no links that leave the directory. Returns what is wrong, or undefined.
 */
export function composeLayoutProblem(entries: TarEntry[]): string | undefined {
  const tops = new Set<string>();
  let hasCompose = false;
  for (const e of entries) {
    if (e.type === 'pax-header' || e.type === 'pax-global-header') continue;
    const raw = e.name;
    if (raw.startsWith('/')) return `entry "${raw}" has an absolute path`;
    const name = stripDot(raw).replace(/\/+$/, '');
    if (name === '' || name === '.') continue;
    const parts = name.split('/');
    if (parts.includes('..')) return `entry "${raw}" contains ".."`;
    tops.add(parts[0]!);
    if (parts.length === 1 && e.type !== 'directory')
      return `"${name}" is at the top level: everything must be inside one directory`;
    if (parts.length === 2 && parts[1] === 'compose.yaml' && e.type === 'file') hasCompose = true;
    if (parts.length === 2 && /^(compose\.yml|docker-compose\.ya?ml)$/.test(parts[1]!))
      return `"${name}" must be named compose.yaml`;
    if (e.type === 'symlink' || e.type === 'link') {
      const target = e.linkname ?? '';
      if (target.startsWith('/')) return `link "${name}" points to an absolute path`;
      const base = e.type === 'symlink' ? path.posix.dirname(name) : '';
      const resolved = path.posix.normalize(path.posix.join(base, target));
      if (resolved === '..' || resolved.startsWith('../') || resolved.split('/')[0] !== parts[0])
        return `link "${name}" points outside its directory`;
    }
  }
  if (tops.size !== 1) return `it must hold exactly one top-level directory (found ${tops.size})`;
  if (!hasCompose) return `${[...tops][0]}/compose.yaml is missing`;
  return undefined;
}
