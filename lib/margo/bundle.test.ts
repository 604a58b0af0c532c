import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { extract } from 'tar-stream';
import { buildBundle } from './bundle.js';

/** Every entry as tar-stream (an independent reader) sees it. */
async function readWithTarStream(gz: Buffer) {
  const out: { name: string; type: string; mode?: number; mtime?: Date; bytes: Buffer }[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push({
          name: h.name,
          type: h.type ?? '',
          mode: h.mode,
          mtime: h.mtime,
          bytes: Buffer.concat(chunks),
        });
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(zlib.gunzipSync(gz));
  await done;
  return out;
}

const entries = [
  {
    deploymentId: '0b6c1f9e-6d8e-4c1a-9d53-2f1c1b2a7e10',
    yaml: Buffer.from('kind: ApplicationDeployment\n'),
  },
  { deploymentId: 'exactly-512', yaml: Buffer.alloc(512, 0x61) },
  { deploymentId: 'empty', yaml: Buffer.alloc(0) },
  { deploymentId: 'x'.repeat(140), yaml: Buffer.from('long name\n') },
];

describe('deployments bundle (tar.gz)', () => {
  it('is read back exactly by tar-stream: names, bytes, regular files 0644 at mtime 0', async () => {
    const got = await readWithTarStream(buildBundle(entries));
    expect(got.map((e) => e.name)).toEqual(entries.map((e) => `${e.deploymentId}.yaml`));
    for (const [i, e] of got.entries()) {
      expect(e.type).toBe('file');
      expect(e.mode).toBe(0o644);
      expect(e.mtime?.getTime()).toBe(0);
      expect(e.bytes.equals(entries[i]!.yaml)).toBe(true);
    }
  });

  it('is extracted exactly by GNU tar, a name over 100 bytes included (PAX path record)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
    try {
      const file = path.join(dir, 'b.tar.gz');
      fs.writeFileSync(file, buildBundle(entries));
      const list = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
      expect(list).toEqual(entries.map((e) => `${e.deploymentId}.yaml`));
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      // GNU tar checks every header checksum and fails on a malformed archive.
      execFileSync('tar', ['-xzf', file, '-C', out]);
      for (const e of entries)
        expect(fs.readFileSync(path.join(out, `${e.deploymentId}.yaml`)).equals(e.yaml)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the same bytes for the same entries, and different bytes when one byte changes', () => {
    const a = buildBundle(entries);
    expect(buildBundle(entries).equals(a)).toBe(true);
    const changed = entries.map((e, i) =>
      i === 0 ? { ...e, yaml: Buffer.from('kind: ApplicationDeploymenT\n') } : e,
    );
    expect(buildBundle(changed).equals(a)).toBe(false);
  });
});
