import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { authFileCredentials, authFileHost, parseAuthFile } from './registry-auth.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('registry auth file', () => {
  it('reads auth, username/password and registrytoken entries by host', () => {
    const m = parseAuthFile(
      JSON.stringify({
        auths: {
          'reg.example.com:5000': { auth: b64('ci:pa:ss') },
          'https://index.docker.io/v1/': { username: 'u', password: 'p' },
          'Tokens.Example.com/team/app': { registrytoken: 'tkn' },
          'reg.example.com:5000/team': { auth: b64('other:x') },
          'empty.example.com': {},
          'bad.example.com': { auth: b64('no-colon') },
        },
      }),
      'auth.json',
    );
    expect(Object.fromEntries(m)).toEqual({
      'reg.example.com:5000': { username: 'ci', password: 'pa:ss' },
      'index.docker.io': { username: 'u', password: 'p' },
      'tokens.example.com': { token: 'tkn' },
    });
    expect(authFileHost('http://127.0.0.1:5000/v2/')).toBe('127.0.0.1:5000');
  });

  it('refuses what is not an auth file, naming it', () => {
    expect(() => parseAuthFile('{', '/etc/auth.json')).toThrow(/^\/etc\/auth\.json: not JSON/);
    expect(() => parseAuthFile('{"credHelpers": {}}', 'a.json')).toThrow(/expected \{"auths"/);
  });

  it('is anonymous while the file is missing and reads it again when it changes', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-regauth-'));
    dirs.push(d);
    const file = path.join(d, 'auth.json');
    const creds = authFileCredentials(file);
    expect(creds('reg:5000')).toBeUndefined();
    fs.writeFileSync(file, JSON.stringify({ auths: { 'reg:5000': { auth: b64('a:1') } } }));
    expect(creds('REG:5000')).toEqual({ username: 'a', password: '1' });
    fs.writeFileSync(file, JSON.stringify({ auths: { 'reg:5000': { auth: b64('a:second') } } }));
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(creds('reg:5000')).toEqual({ username: 'a', password: 'second' });
    expect(creds('elsewhere:5000')).toBeUndefined();
  });
});
