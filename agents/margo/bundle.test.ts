import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { readBundle } from './bundle.js';

async function tgz(
  entries: { name: string; body?: string; type?: 'file' | 'directory' | 'symlink' }[],
): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === 'symlink') p.entry({ name: e.name, type: 'symlink', linkname: '/etc/passwd' }, cb);
      else if (e.type === 'directory') p.entry({ name: e.name, type: 'directory' }, cb);
      else p.entry({ name: e.name }, e.body ?? '', cb);
    });
  }
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

describe('deployments bundle', () => {
  it('keys every regular file by the digest of its bytes, whatever its name; links and folders are ignored', async () => {
    const files = await readBundle(
      await tgz([
        { name: 'a.yaml', body: 'id: a\n' },
        { name: 'x/', type: 'directory' },
        { name: 'whatever', body: 'id: b\n' },
        { name: 'evil', type: 'symlink' },
      ]),
    );
    expect([...files.keys()].sort()).toEqual([sha('id: a\n'), sha('id: b\n')].sort());
    expect(files.get(sha('id: b\n'))!.toString()).toBe('id: b\n');
  });

  it('refuses what is not a tar.gz and what breaks the limits', async () => {
    await expect(readBundle(Buffer.from('not gzip'))).rejects.toMatchObject({ code: 'agent/invalid-bundle' });
    const big = await tgz([{ name: 'big', body: 'x'.repeat(2000) }]);
    await expect(
      readBundle(big, { maxEntries: 10, maxEntryBytes: 1000, maxTotalBytes: 10_000 }),
    ).rejects.toThrow(/too large/);
    const many = await tgz([{ name: '1' }, { name: '2' }, { name: '3' }]);
    await expect(
      readBundle(many, { maxEntries: 2, maxEntryBytes: 1000, maxTotalBytes: 10_000 }),
    ).rejects.toThrow(/more than 2 entries/);
  });
});
