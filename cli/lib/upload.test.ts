import { afterAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readUpload } from './upload.js';
import { OutpostError } from '../../lib/errors/index.js';

describe('readUpload', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-upload-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sends the file as it is, a byte-order mark and non-ASCII text included', () => {
    const file = path.join(dir, 'bom.yaml');
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('name: Zähler\n')]);
    fs.writeFileSync(file, bytes);
    const u = readUpload(file, 'margo.yaml');
    expect(u.fileName).toBe('bom.yaml');
    expect(Buffer.from(u.content, 'utf8').equals(bytes)).toBe(true);
  });

  it('refuses a file that is not UTF-8 instead of uploading other bytes', () => {
    const file = path.join(dir, 'latin1.yaml');
    fs.writeFileSync(file, Buffer.from('name: Z\xe4hler\n', 'latin1'));
    let err: unknown;
    try {
      readUpload(file, 'margo.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('invalid-input');
    expect((err as OutpostError).message).toBe(
      `${file} is not UTF-8 text (Margo descriptions and device model files are YAML or JSON in UTF-8)`,
    );
  });

  it('takes the default file of a folder and the resources its text names', () => {
    const pkg = path.join(dir, 'pkg');
    fs.mkdirSync(path.join(pkg, 'resources'), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'margo.yaml'), 'icon: resources/icon.png\n');
    fs.writeFileSync(path.join(pkg, 'resources', 'icon.png'), Buffer.from([0x89, 0x50]));
    fs.writeFileSync(path.join(pkg, 'resources', 'unrelated.txt'), 'x');
    const u = readUpload(pkg, 'margo.yaml');
    expect(u.fileName).toBe('margo.yaml');
    expect(u.resources).toEqual({ 'resources/icon.png': Buffer.from([0x89, 0x50]).toString('base64') });
  });
});
