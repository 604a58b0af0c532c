import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { OutpostError } from '../../lib/errors/index.js';

/**
 * Reads a Margo deployments bundle (tar.gz whose root holds the ApplicationDeployment YAML files): every
 * regular file's bytes keyed by their sha256 digest. The spec does not name the files, so they are matched
 * to the manifest by digest only. Limits on entry count and sizes keep a hostile bundle from exhausting
 * memory; links and folders are ignored.
 */
export interface BundleLimits {
  maxEntries: number;
  maxEntryBytes: number;
  maxTotalBytes: number;
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = {
  maxEntries: 10_000,
  maxEntryBytes: 1024 * 1024,
  maxTotalBytes: 256 * 1024 * 1024,
};

export async function readBundle(
  gz: Buffer,
  limits: BundleLimits = DEFAULT_BUNDLE_LIMITS,
): Promise<Map<string, Buffer>> {
  const { extract } = await import('tar-stream');
  const out = new Map<string, Buffer>();
  const ex = extract();
  let entries = 0;
  let total = 0;
  const bad = (m: string) => new OutpostError('agent/invalid-bundle', `the deployments bundle ${m}`);
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      entries++;
      if (entries > limits.maxEntries) {
        stream.resume();
        ex.destroy(bad(`has more than ${limits.maxEntries} entries`));
        return;
      }
      if (header.type !== 'file') {
        stream.resume();
        stream.on('end', next);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: unknown) => {
        const chunk = c as Buffer;
        size += chunk.length;
        total += chunk.length;
        if (size > limits.maxEntryBytes || total > limits.maxTotalBytes) {
          ex.destroy(bad(`entry ${JSON.stringify(header.name)} is too large`));
          return;
        }
        chunks.push(chunk);
      });
      stream.on('end', () => {
        const bytes = Buffer.concat(chunks);
        out.set(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, bytes);
        next();
      });
      stream.on('error', reject);
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  const gunzip = createGunzip();
  gunzip.on('error', (e) => ex.destroy(bad(`is not a valid gzip stream: ${e.message}`)));
  Readable.from([gz]).pipe(gunzip).pipe(ex);
  try {
    await done;
  } catch (e) {
    if (e instanceof OutpostError) throw e;
    throw bad(`is not a valid tar.gz archive: ${(e as Error).message}`);
  }
  return out;
}
