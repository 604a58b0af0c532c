import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createStateStore } from './state.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const home = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-state-'));
  dirs.push(d);
  return { file: path.join(d, 'state.json'), desiredDir: path.join(d, 'desired') };
};

describe('agent state', () => {
  it('starts empty, persists every update atomically (0600) and reads it back', () => {
    const h = home();
    const s = createStateStore(h);
    expect(s.get()).toEqual({ version: 1, manifestVersion: 0, deployments: {} });
    s.update((st) => {
      st.manifestVersion = 3;
      st.etag = '"sha256:ab"';
    });
    expect(fs.statSync(h.file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(h.file)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(createStateStore(h).get()).toMatchObject({ manifestVersion: 3, etag: '"sha256:ab"' });
  });

  it('leaves memory unchanged when the write fails', () => {
    const h = {
      file: path.join(home().desiredDir, '..', 'sub', 'state.json'),
      desiredDir: home().desiredDir,
    };
    const s = createStateStore(h);
    s.update((st) => (st.manifestVersion = 1));
    // The folder is replaced by a file: every write fails (for root too).
    fs.rmSync(path.dirname(h.file), { recursive: true });
    fs.writeFileSync(path.dirname(h.file), 'not a folder');
    expect(() => s.update((st) => (st.manifestVersion = 2))).toThrow();
    expect(s.get().manifestVersion).toBe(1);
  });

  it('an update that throws changes nothing', () => {
    const s = createStateStore(home());
    s.update((st) => (st.manifestVersion = 1));
    expect(() =>
      s.update((st) => {
        st.manifestVersion = 99;
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(s.get().manifestVersion).toBe(1);
  });

  it('stores verified YAML by digest and prunes what no deployment refers to', () => {
    const h = home();
    const s = createStateStore(h);
    s.putYaml('sha256:aa', Buffer.from('a'));
    s.putYaml('sha256:bb', Buffer.from('b'));
    expect(s.hasYaml('sha256:aa')).toBe(true);
    expect(s.readYaml('sha256:bb')!.toString()).toBe('b');
    s.pruneYaml(['sha256:bb']);
    expect(s.hasYaml('sha256:aa')).toBe(false);
    expect(fs.readdirSync(h.desiredDir)).toEqual(['bb.yaml']);
  });

  it('refuses a file that is not its state', () => {
    const h = home();
    fs.writeFileSync(h.file, JSON.stringify({ version: 7 }));
    expect(() => createStateStore(h)).toThrow(/not an agent state file/);
  });
});
