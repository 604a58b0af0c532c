import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPaths, defaultHome, resolveHome } from './paths.js';

describe('resolveHome', () => {
  it('takes --home first, then EDGE_HOME, then the per-user default', () => {
    const env = { EDGE_HOME: '/srv/outpost', XDG_DATA_HOME: '/data' };
    expect(resolveHome('/tmp/h', env)).toBe('/tmp/h');
    expect(resolveHome(undefined, env)).toBe('/srv/outpost');
    expect(resolveHome(undefined, { XDG_DATA_HOME: '/data' })).toBe('/data/outpost');
    expect(resolveHome('rel', {})).toBe(path.resolve('rel'));
  });

  it('defaults to a per-user folder on each platform', () => {
    expect(defaultHome({}, 'linux')).toBe(path.join(os.homedir(), '.local', 'share', 'outpost'));
    expect(defaultHome({}, 'darwin')).toBe(
      path.join(os.homedir(), 'Library', 'Application Support', 'Outpost'),
    );
    expect(defaultHome({ APPDATA: 'C:\\Users\\op\\AppData\\Roaming' }, 'win32')).toBe(
      path.join('C:\\Users\\op\\AppData\\Roaming', 'Outpost'),
    );
  });
});

describe('createPaths', () => {
  it('roots every path at the home', () => {
    const p = createPaths('/var/lib/outpost');
    for (const [key, value] of Object.entries(p)) {
      if (key === 'home') expect(value).toBe('/var/lib/outpost');
      else expect(value.startsWith('/var/lib/outpost/'), key).toBe(true);
    }
    expect(p.serverJson).toBe('/var/lib/outpost/run/server.json');
    expect(p.dbFile).toBe('/var/lib/outpost/outpost.db');
  });
});
