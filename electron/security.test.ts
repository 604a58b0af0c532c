import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import {
  APP_INDEX_URL,
  externalLink,
  isConsoleUrl,
  isTrustedSender,
  mayNavigate,
  menuTemplate,
  portalUrl,
  resolveConsoleFile,
  serveConsole,
  windowPreferences,
} from './security.js';
import { parseDesktopArgs } from './args.js';
import { CONSOLE_CSP } from '../core/server/console-http.js';

// Electron cannot run on the build machines: its main-process decisions are pure functions, tested
// here under Node against real files (ADR 0521).

describe('the console origin check (IPC senders and navigation)', () => {
  it('accepts the console and only the console', () => {
    for (const u of [
      APP_INDEX_URL,
      'app://console/',
      'app://console/index.html#/apps',
      'app://console/assets/x.js?v=1',
    ])
      expect(isConsoleUrl(u)).toBe(true);
  });

  it('refuses prefix tricks', () => {
    for (const u of [
      'app://console.evil/index.html',
      'app://consoleevil/index.html',
      'app://console@evil/index.html',
      'app://evil@console/index.html',
      'app://user:pw@console/index.html',
      'app://console:8080/index.html',
      'app://evil/console/index.html',
      'app://evil#app://console/',
      'app:console/index.html',
      'app:///console/index.html',
      'apps://console/index.html',
      'xapp://console/index.html',
      ' app://console/index.html',
      'app://con\tsole/index.html',
      'app://console/index.html\n',
      '',
      'not a url',
    ])
      expect(isConsoleUrl(u), u).toBe(false);
  });

  it('refuses file:// pages, including siblings of the build folder the old prefix check let through', () => {
    for (const u of [
      'file:///opt/outpost/dist/renderer/index.html',
      'file:///opt/outpost/dist/renderer-evil/x.html',
      'file:///opt/outpost/dist/renderer/../renderer-evil/x.html',
      'file:///tmp/x.html',
      'http://127.0.0.1:7700/',
      'https://evil.example/',
      'data:text/html,<script>1</script>',
      'javascript:alert(1)',
      'about:blank',
      'devtools://devtools/bundled/inspector.html',
    ]) {
      expect(isTrustedSender(u), u).toBe(false);
      expect(mayNavigate(u), u).toBe(false);
    }
  });
});

describe('the app:// protocol handler', () => {
  let root: string;
  let outside: string;
  beforeAll(() => {
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-shell-'));
    root = path.join(base, 'renderer');
    outside = path.join(base, 'renderer-evil');
    fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(root, 'index.html'), '<html>console</html>');
    fs.writeFileSync(path.join(root, 'assets', 'app.js'), 'console.log(1)');
    fs.writeFileSync(path.join(root, 'assets', 'a b.css'), 'body{}');
    fs.writeFileSync(path.join(outside, 'x.html'), '<html>evil</html>');
    fs.writeFileSync(path.join(base, 'secret.txt'), 'secret');
    fs.symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'assets', 'link.txt'));
  });
  afterAll(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

  it('serves the console files with the CSP as a header', () => {
    const r = serveConsole(root, 'app://console/', 'GET', CONSOLE_CSP);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('<html>console</html>');
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    const js = serveConsole(root, 'app://console/assets/app.js', 'GET', CONSOLE_CSP);
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(serveConsole(root, 'app://console/assets/a%20b.css', 'GET', CONSOLE_CSP).status).toBe(200);
    expect(serveConsole(root, 'app://console/index.html', 'POST', CONSOLE_CSP).status).toBe(405);
  });

  it('never serves a file outside the build folder, however the path is written', () => {
    for (const u of [
      'app://console/../renderer-evil/x.html',
      'app://console/%2e%2e/renderer-evil/x.html',
      'app://console/%2E%2E%2Frenderer-evil%2Fx.html',
      'app://console/assets/..%2f..%2frenderer-evil/x.html',
      'app://console/..%5crenderer-evil%5cx.html',
      'app://console/%252e%252e/renderer-evil/x.html',
      'app://console/assets/%00.js',
      'app://console/assets/link.txt',
      'app://console/%E0%A4%A',
      'app://console.evil/index.html',
      'file:///etc/passwd',
    ]) {
      const r = serveConsole(root, u, 'GET', CONSOLE_CSP);
      expect(r.status, u).toBe(404);
      expect(r.body.toString(), u).not.toMatch(/evil|secret/);
    }
    expect(resolveConsoleFile(root, 'app://console/assets/app.js')).toBe(path.join(root, 'assets', 'app.js'));
    // WHATWG URL parsing removes dot segments before we see them: still inside.
    expect(resolveConsoleFile(root, 'app://console/assets/../index.html')).toBe(
      path.join(root, 'index.html'),
    );
  });
});

describe('links from tenant-supplied data', () => {
  it('are opened only after a confirmation that shows the full URL', () => {
    const raw = 'https://vendor.example/docs?q=1#part';
    const r = externalLink(raw);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.url).toBe(raw);
    expect(r.confirmation.detail).toContain(raw);
    const idn = externalLink('https://xn--80ak6aa92e.com/login');
    expect(idn.ok && idn.confirmation.detail).toContain('https://xn--80ak6aa92e.com/login');
  });

  it('are refused when they are not web or mail links, or carry credentials', () => {
    for (const u of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'smb://host/share',
      'ms-msdt:/id',
      'https://user:pw@vendor.example/',
      'nonsense',
    ])
      expect(externalLink(u).ok, u).toBe(false);
  });
});

describe('the desktop shell settings', () => {
  it('opens the web portal without any token in the URL (leak 6 of issue 17)', () => {
    expect(portalUrl('http://127.0.0.1:7700')).toBe('http://127.0.0.1:7700/');
    expect(portalUrl('http://127.0.0.1:7700/#token=opt_x')).toBe('http://127.0.0.1:7700/');
    expect(portalUrl('http://u:p@127.0.0.1:7700/?token=opt_x')).toBe('http://127.0.0.1:7700/');
  });

  it('gives windows no Node, an isolated sandbox, and DevTools only in development builds', () => {
    const prod = windowPreferences({ preload: '/x/preload.cjs', packaged: true });
    expect(prod).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      devTools: false,
    });
    expect(windowPreferences({ preload: '/x', packaged: false }).devTools).toBe(true);
    const roles = (packaged: boolean) =>
      JSON.stringify(menuTemplate({ packaged, openPortal: () => undefined }));
    expect(roles(true)).not.toContain('toggleDevTools');
    expect(roles(false)).toContain('toggleDevTools');
  });

  it('packages with the fuses flipped: no RunAsNode, encrypted cookies, ASAR integrity, app only from ASAR', () => {
    const cfg = parse(fs.readFileSync(path.join(process.cwd(), 'electron-builder.yml'), 'utf8')) as {
      asar: boolean;
      electronFuses: Record<string, boolean>;
    };
    expect(cfg.asar).toBe(true);
    expect(cfg.electronFuses).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
    });
  });

  it('offers the local administrator sign-in unless told not to', () => {
    expect(parseDesktopArgs([]).localAdmin).toBe(true);
    expect(parseDesktopArgs(['--no-local-admin', '--home', '/h'])).toEqual({ localAdmin: false, home: '/h' });
  });
});
