import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import git from 'isomorphic-git';
import { deltaOf, writePack, zlibStored, type PackObject } from './pack-writer.js';
import { gitObjectId } from './deployments-repo.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-pack-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const gitCli = (args: string[], cwd: string) =>
  execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });

const blob = (content: Buffer): PackObject => ({ oid: gitObjectId('blob', content), type: 'blob', content });

describe('pack writer', () => {
  it('stored zlib streams inflate to the input (empty, one block, several blocks)', () => {
    for (const n of [0, 1, 300, 0xffff, 0xffff + 1, 200_000]) {
      const data = crypto.randomBytes(n);
      // inflateSync checks the Adler-32 trailer too.
      expect(zlib.inflateSync(zlibStored(data)).equals(data)).toBe(true);
    }
  });

  it('deltas: only for mostly shared bytes', () => {
    const base = Buffer.from('metadata:\n  deviceId: node-0001\nspec: {}\n'.repeat(3));
    expect(deltaOf(base, Buffer.from(base.toString().replace('node-0001', 'node-0002')))).toBeDefined();
    expect(deltaOf(base, crypto.randomBytes(base.length))).toBeUndefined();
  });

  it('the git CLI and isomorphic-git read every object back byte for byte, deltas included', async () => {
    const dir = path.join(tmp, 'r1');
    gitCli(['init', '-q', dir], tmp);
    const template = (id: string) =>
      Buffer.from(
        `apiVersion: margo.org/v1-alpha1\nkind: ApplicationDeployment\nmetadata:\n  deviceId: ${id}\n`,
      );
    const big = crypto.randomBytes(150_000);
    const bigVariant = Buffer.concat([big.subarray(0, 70_000), Buffer.from('changed'), big.subarray(70_007)]);
    const objects: PackObject[] = [
      blob(template('n-1')), // the delta base
      ...Array.from({ length: 50 }, (_, i) => blob(template(`n-${i + 2}-${'x'.repeat(i)}`))),
      blob(Buffer.from('short')), // below the base size, unrelated: stored whole
      blob(crypto.randomBytes(5000)), // unrelated: deflated whole
      blob(big), // a delta of the first base? no: too different; deflated
      blob(Buffer.alloc(0)),
    ];
    const tree = Buffer.concat([Buffer.from('100644 a.yaml\0'), Buffer.from(objects[0]!.oid, 'hex')]);
    objects.push({ oid: gitObjectId('tree', tree), type: 'tree', content: tree });
    writePack(path.join(dir, '.git'), objects);

    // A second pack whose base is large: copies longer than 64 KiB are split.
    const second = [blob(big.subarray(0, 140_000)), blob(bigVariant.subarray(0, 140_000))];
    writePack(path.join(dir, '.git'), second);

    for (const f of fs.readdirSync(path.join(dir, '.git/objects/pack')).filter((f) => f.endsWith('.idx')))
      gitCli(['verify-pack', path.join('.git/objects/pack', f)], dir);
    const verbose = fs
      .readdirSync(path.join(dir, '.git/objects/pack'))
      .filter((f) => f.endsWith('.idx'))
      .map((f) => gitCli(['verify-pack', '-v', path.join('.git/objects/pack', f)], dir).toString())
      .join('');
    expect(verbose).toMatch(/chain length = 1: (5[01]|[1-9]) objects?/);

    for (const o of [...objects, ...second]) {
      expect(gitCli(['cat-file', '-t', o.oid], dir).toString().trim()).toBe(o.type);
      expect(gitCli(['cat-file', o.type, o.oid], dir).equals(Buffer.from(o.content))).toBe(true);
      const read = await git.readObject({ fs, dir, oid: o.oid, format: 'content' });
      expect(Buffer.from(read.object as Uint8Array).equals(Buffer.from(o.content))).toBe(true);
    }
  });
});
