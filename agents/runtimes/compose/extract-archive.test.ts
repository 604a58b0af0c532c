import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileArtifact } from '../types.js';
import { extractComposeArchive } from './extract-archive.js';

type Entry = Partial<tar.Header> & { name: string; body?: string };

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-extract-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** Writes a tar.gz with exactly these headers (tar-stream keeps names, modes and link targets as given). */
async function archive(entries: Entry[]): Promise<FileArtifact> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const { body, ...h } of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body !== undefined) pack.entry({ mode: 0o644, ...h }, body, cb);
      else pack.entry({ mode: 0o755, ...h }, cb);
    });
  }
  pack.finalize();
  await ended;
  const gz = zlib.gzipSync(Buffer.concat(chunks));
  const file = path.join(tmp, `a${++n}.tar.gz`);
  fs.writeFileSync(file, gz);
  return {
    path: file,
    mediaType: 'application/vnd.org.margo.component.compose.tar+gzip',
    digest: `sha256:${createHash('sha256').update(gz).digest('hex')}`,
  };
}

const COMPOSE = 'services:\n  web:\n    image: localhost/x:1\n';

/** A fresh, empty parent dir; the extraction target inside it. */
function target(): { parent: string; dest: string } {
  const parent = fs.mkdtempSync(path.join(tmp, 'out-'));
  return { parent, dest: path.join(parent, 'app') };
}

async function rejects(entries: Entry[], message: RegExp): Promise<void> {
  const art = await archive(entries);
  const { parent, dest } = target();
  const err = await extractComposeArchive(art, dest).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'runtime/unsafe-archive' });
  expect((err as Error).message).toMatch(message);
  // Nothing extracted: not the target, not a temporary folder.
  expect(fs.readdirSync(parent)).toEqual([]);
}

describe('extractComposeArchive', () => {
  it('extracts one folder with compose.yaml, nested files, an inner symlink and an inner hard link', async () => {
    const art = await archive([
      { name: 'myapp/', type: 'directory' },
      { name: 'myapp/compose.yaml', body: COMPOSE },
      { name: 'myapp/config/app.conf', body: 'x=1\n' },
      { name: 'myapp/current', type: 'symlink', linkname: 'config' },
      { name: 'myapp/config/copy.conf', type: 'link', linkname: 'myapp/config/app.conf' },
      { name: 'myapp/run.sh', body: '#!/bin/sh\n', mode: 0o755 },
    ]);
    const { dest } = target();
    const r = await extractComposeArchive(art, dest);
    expect(r).toMatchObject({ dir: dest, topName: 'myapp', files: 4, strippedModes: [] });
    expect(fs.readFileSync(path.join(dest, 'compose.yaml'), 'utf8')).toBe(COMPOSE);
    expect(fs.readlinkSync(path.join(dest, 'current'))).toBe('config');
    expect(fs.readFileSync(path.join(dest, 'config/copy.conf'), 'utf8')).toBe('x=1\n');
    expect(fs.statSync(path.join(dest, 'config/copy.conf')).nlink).toBe(1);
    expect(fs.statSync(path.join(dest, 'run.sh')).mode & 0o777).toBe(0o755);
  });

  it('accepts archives without directory entries and with ./ prefixes', async () => {
    const art = await archive([{ name: './app/compose.yaml', body: COMPOSE }]);
    const { dest } = target();
    expect((await extractComposeArchive(art, dest)).topName).toBe('app');
  });

  it('strips setuid, setgid and sticky bits', async () => {
    const art = await archive([
      { name: 'app/', type: 'directory', mode: 0o1777 },
      { name: 'app/compose.yaml', body: COMPOSE },
      { name: 'app/suid', body: 'x', mode: 0o4755 },
      { name: 'app/sgid', body: 'x', mode: 0o2755 },
    ]);
    const { dest } = target();
    const r = await extractComposeArchive(art, dest);
    expect(r.strippedModes.sort()).toEqual(['app', 'app/sgid', 'app/suid']);
    expect(fs.statSync(path.join(dest, 'suid')).mode & 0o7777).toBe(0o755);
    expect(fs.statSync(path.join(dest, 'sgid')).mode & 0o7777).toBe(0o755);
    expect(fs.statSync(dest).mode & 0o7000).toBe(0);
  });

  it('rejects an absolute path', () =>
    rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: '/etc/evil', body: 'x' },
      ],
      /"\/etc\/evil" is an absolute path/,
    ));

  it('rejects ..', () =>
    rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'app/../evil', body: 'x' },
      ],
      /contains "\.\."/,
    ));

  it('rejects a symlink that escapes the folder', () =>
    rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'app/etc', type: 'symlink', linkname: '../../etc' },
      ],
      /symlink "app\/etc" -> "\.\.\/\.\.\/etc" leaves the folder "app"/,
    ));

  it('rejects a symlink to an absolute path', () =>
    rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'app/passwd', type: 'symlink', linkname: '/etc/passwd' },
      ],
      /points to an absolute path/,
    ));

  it('rejects entries written through a symlink', () =>
    rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'app/sub/', type: 'directory' },
        { name: 'app/l', type: 'symlink', linkname: 'sub' },
        { name: 'app/l/file', body: 'x' },
      ],
      /lies below the symlink "app\/l"/,
    ));

  it('rejects a hard link out of the folder', () =>
    rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'app/shadow', type: 'link', linkname: '/etc/shadow' },
      ],
      /absolute path/,
    ));

  it('rejects a hard link to something that is not an earlier file of the folder', () =>
    rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'app/h', type: 'link', linkname: 'app/later' },
        { name: 'app/later', body: 'x' },
      ],
      /does not name an earlier file/,
    ));

  it('rejects two top-level folders', () =>
    rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'other/compose.yaml', body: COMPOSE },
      ],
      /more than one top-level entry \("app" and "other"\)/,
    ));

  it('rejects a file at the top level', () =>
    rejects([{ name: 'compose.yaml', body: COMPOSE }], /top-level entry "compose.yaml" is not a folder/));

  it('rejects a folder without compose.yaml (other names do not count)', () =>
    rejects(
      [
        { name: 'app/docker-compose.yml', body: COMPOSE },
        { name: 'app/compose.yml', body: COMPOSE },
      ],
      /has no compose.yaml file in its top-level folder "app"/,
    ));

  it('rejects compose.yaml when it is a symlink', () =>
    rejects(
      [
        { name: 'app/real.yaml', body: COMPOSE },
        { name: 'app/compose.yaml', type: 'symlink', linkname: 'real.yaml' },
      ],
      /has no compose.yaml file/,
    ));

  it('rejects device nodes and FIFOs', async () => {
    await rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'app/null', type: 'character-device', devmajor: 1, devminor: 3 },
      ],
      /"app\/null" is a character-device/,
    );
    await rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'app/pipe', type: 'fifo' },
      ],
      /is a fifo/,
    );
  });

  it('rejects duplicate entries', () =>
    rejects(
      [
        { name: 'app/compose.yaml', body: COMPOSE },
        { name: 'app/compose.yaml', body: 'services: {}\n' },
      ],
      /duplicate entry "app\/compose.yaml"/,
    ));

  it('rejects archives over the size cap', async () => {
    const art = await archive([
      { name: 'app/compose.yaml', body: COMPOSE },
      { name: 'app/big', body: 'x'.repeat(4096) },
    ]);
    const { parent, dest } = target();
    await expect(extractComposeArchive(art, dest, { maxBytes: 1024 })).rejects.toThrow(
      /more than 1024 bytes of files/,
    );
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('rejects an empty archive and what is not a tar.gz', async () => {
    await rejects([], /is empty/);
    const file = path.join(tmp, 'garbage.tar.gz');
    fs.writeFileSync(file, 'not gzip at all');
    const digest = `sha256:${createHash('sha256').update('not gzip at all').digest('hex')}`;
    const { parent, dest } = target();
    await expect(
      extractComposeArchive({ path: file, digest, mediaType: 'application/gzip' }, dest),
    ).rejects.toMatchObject({
      code: 'runtime/unsafe-archive',
      message: expect.stringContaining('is not a valid tar.gz'),
    });
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('checks the digest before extracting anything', async () => {
    const art = await archive([{ name: 'app/compose.yaml', body: COMPOSE }]);
    const { parent, dest } = target();
    const wrong = { ...art, digest: `sha256:${'a'.repeat(64)}` };
    await expect(extractComposeArchive(wrong, dest)).rejects.toMatchObject({
      code: 'runtime/digest-mismatch',
    });
    expect(fs.readdirSync(parent)).toEqual([]);
  });

  it('refuses to extract over an existing target', async () => {
    const art = await archive([{ name: 'app/compose.yaml', body: COMPOSE }]);
    const { dest } = target();
    fs.mkdirSync(dest);
    await expect(extractComposeArchive(art, dest)).rejects.toMatchObject({ code: 'conflict' });
  });
});
