import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { OutpostError, isOutpostError } from '../../../lib/errors/index.js';
import type { Descriptor, Platform } from '../../../lib/oci/index.js';
import { action, reportError } from '../../lib/action.js';
import { globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';
import { formatBytes } from '../../lib/format.js';
import { addRegistryOptions, clientFor, parseTarget, withInterrupt, type RegistryFlags } from './shared.js';

interface PullFlags extends RegistryFlags {
  out: string;
  platform?: string;
  output?: string;
}

function parsePlatform(v: string | undefined): Platform | undefined {
  if (v === undefined) return undefined;
  const [os, architecture, variant, extra] = v.split('/');
  if (!os || !architecture || extra !== undefined)
    throw new OutpostError(
      'invalid-input',
      `--platform "${v}" must be os/architecture[/variant], e.g. linux/arm64`,
    );
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/**
 * Where a layer goes inside `out`: its title annotation when that is a safe relative path (Margo
 * resources use `resources/icon.png`), else `<algorithm>-<hex>` of its digest.
 */
export function layerFileName(layer: Descriptor): string {
  const byDigest = layer.digest.replace(':', '-');
  const title = layer.annotations?.['org.opencontainers.image.title'];
  if (!title) return byDigest;
  const norm = path.posix.normalize(title.replace(/\\/g, '/'));
  if (
    norm === '.' ||
    norm.startsWith('../') ||
    norm === '..' ||
    path.posix.isAbsolute(norm) ||
    /^[a-zA-Z]:/.test(norm) ||
    norm.split('/').some((p) => p === '' || p === '.' || p === '..' || /[\0]/.test(p))
  )
    return byDigest;
  return norm;
}

/** `edgectl oci pull <oci-ref> --out DIR`: write every layer, verified, under its title. */
export function register(oci: Command): void {
  addRegistryOptions(
    oci
      .command('pull')
      .description(
        'pull an artifact: write each layer (verified) into a folder, named by its title or digest',
      )
      .argument(
        '<oci-ref>',
        '[oci://]host[:port]/repository[:tag][@digest] (site/...: the site registry of the server for --home)',
      )
      .requiredOption('--out <dir>', 'folder to write the layers to (created if missing)')
      .option(
        '--platform <os/arch>',
        'which image of an index to pull (default: the only one, or this machine)',
      )
      .option('-o, --output <format>', 'table, json or yaml'),
  )
    .addHelpText(
      'after',
      '\nAn interrupted pull (Ctrl-C, a broken link) leaves <file>.partial; pulling again resumes it.\n' +
        'Example:\n  edgectl oci pull oci://127.0.0.1:5000/wasm/sensor:1.0.0 --out ./sensor --plain-http\n',
    )
    .action(
      action(async (refText: string, opts: PullFlags, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { formatReference, hashFile } = await import('../../../lib/oci/index.js');
        const { createProgress } = await import('../../lib/progress.js');
        const ref = await parseTarget(refText, globals(cmd).home);
        const platform = parsePlatform(opts.platform);
        const out = path.resolve(opts.out);
        const client = await clientFor(ref, opts, globals(cmd).home);
        const progress = createProgress();
        let current: string | undefined;
        try {
          const written = await withInterrupt(async (signal) => {
            const resolved = await client.resolve(ref, { signal, ...(platform ? { platform } : {}) });
            const names = resolved.manifest.layers.map(layerFileName);
            const dup = names.find((n, i) => names.indexOf(n) !== i);
            if (dup)
              throw new OutpostError('invalid-input', `${refText}: two layers would be written to ${dup}`);
            const files: {
              path: string;
              digest: string;
              size: number;
              mediaType: string;
              skipped: boolean;
            }[] = [];
            for (const [i, layer] of resolved.manifest.layers.entries()) {
              const dest = path.join(out, names[i]!);
              current = dest;
              const base = { path: dest, digest: layer.digest, size: layer.size, mediaType: layer.mediaType };
              if (await upToDate(dest, layer, hashFile)) {
                files.push({ ...base, skipped: true });
                continue;
              }
              await client.fetchBlob(ref, layer, {
                dest,
                signal,
                onProgress: (p) => progress.update(names[i]!, p.received, p.total),
              });
              progress.finish(names[i]!);
              files.push({ ...base, skipped: false });
            }
            return { digest: resolved.digest, files };
          });
          progress.stop();
          await emit(
            format,
            { reference: formatReference(ref), digest: written.digest, out, files: written.files },
            () =>
              table(
                ['FILE', 'SIZE', 'DIGEST', 'MEDIA TYPE'],
                written.files.map((f) => [
                  displayPath(f.path) + (f.skipped ? ' (up to date)' : ''),
                  formatBytes(f.size),
                  f.digest,
                  f.mediaType,
                ]),
              ),
          );
        } catch (err) {
          progress.stop();
          if (isOutpostError(err, 'cancelled')) {
            const where = current ? `; ${current}.partial is kept and the next pull resumes it` : '';
            reportError(
              new OutpostError('cancelled', `pull of ${refText} cancelled${where}`),
              Boolean(globals(cmd).debug),
            );
            process.exitCode = 130;
            return;
          }
          throw err;
        } finally {
          await client.close();
        }
      }),
    );
}

async function upToDate(
  file: string,
  layer: Descriptor,
  hashFile: (f: string) => Promise<{ digest: string }>,
): Promise<boolean> {
  try {
    if (fs.statSync(file).size !== layer.size) return false;
  } catch {
    return false;
  }
  return (await hashFile(file)).digest === layer.digest;
}

function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel.startsWith('..') || path.isAbsolute(rel) ? p : rel;
}
