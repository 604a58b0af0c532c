// The desktop shell's security decisions as pure functions (ADR 0521), so they are tested under Node:
// Electron itself cannot run on the build machines. main.ts only wires them to Electron's hooks.
import fs from 'node:fs';
import path from 'node:path';

/** The console is served from `app://console/` (a privileged custom scheme), never from file://. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'console';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/**
 * True only for a URL of the console's own origin: scheme `app`, host `console` exactly, no user,
 * password or port. Prefix tricks (`app://console.evil/`, `app://console@evil/`), other schemes
 * (`file://` siblings of the build folder, `http://localhost`) and unparsable strings are refused.
 */
export function isConsoleUrl(raw: string): boolean {
  if (typeof raw !== 'string' || raw.length > 8192) return false;
  // The URL parser drops surrounding spaces and inner tabs and newlines: a URL that needs that is not ours.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(raw)) return false;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  return (
    u.protocol === `${APP_SCHEME}:` &&
    u.hostname === APP_HOST &&
    u.host === APP_HOST &&
    u.username === '' &&
    u.password === '' &&
    u.port === ''
  );
}

/** May this frame call the IPC bridge? Only the console's own pages. */
export const isTrustedSender = isConsoleUrl;

/** May the window navigate to this URL? Only within the console (routes are hash changes anyway). */
export const mayNavigate = isConsoleUrl;

/**
 * The file `app://console/<path>` names inside the built console, or null: the path is decoded once,
 * and any `.`/`..` segment, backslash, NUL or encoded separator is refused before it is resolved, then
 * the resolved (and, when it exists, real) path must lie inside `root`. `/` is `index.html`.
 */
export function resolveConsoleFile(root: string, raw: string): string | null {
  if (!isConsoleUrl(raw)) return null;
  const u = new URL(raw);
  const encoded = u.pathname;
  if (/%2f|%5c|%00/i.test(encoded)) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..')) return null;
  const rel = segments.length === 0 ? 'index.html' : segments.join('/');
  const base = path.resolve(root);
  const file = path.resolve(base, rel);
  if (!isInside(base, file)) return null;
  try {
    const real = fs.realpathSync(file);
    if (!isInside(fs.realpathSync(base), real)) return null;
  } catch {
    /* does not exist: the caller answers 404 */
  }
  return file;
}

function isInside(base: string, file: string): boolean {
  return file.startsWith(base.endsWith(path.sep) ? base : base + path.sep);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

export interface ConsoleResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Security headers on every answer of the custom protocol, the CSP first of all. */
export function consoleHeaders(csp: string, contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-store',
  };
}

/** The answer of the `app:` protocol handler for one request (GET only; files of the built console). */
export function serveConsole(root: string, raw: string, method: string, csp: string): ConsoleResponse {
  const plain = (status: number, text: string): ConsoleResponse => ({
    status,
    headers: consoleHeaders(csp, 'text/plain; charset=utf-8'),
    body: Buffer.from(text),
  });
  if (method !== 'GET' && method !== 'HEAD') return plain(405, 'method not allowed');
  const file = resolveConsoleFile(root, raw);
  if (!file) return plain(404, 'not found');
  let body: Buffer;
  try {
    if (!fs.statSync(file).isFile()) return plain(404, 'not found');
    body = fs.readFileSync(file);
  } catch {
    return plain(404, 'not found');
  }
  const type = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
  return {
    status: 200,
    headers: consoleHeaders(csp, type),
    body: method === 'HEAD' ? Buffer.alloc(0) : body,
  };
}

/**
 * What to do with a link the console asks to open (apps' and device models' documentation, vendor
 * pages: data a tenant supplied): only http(s) and mailto, never with credentials in it, and only after
 * the person confirmed the full URL (`confirmation` is what the dialog shows).
 */
export function externalLink(
  raw: string,
):
  | { ok: true; url: string; confirmation: { message: string; detail: string } }
  | { ok: false; reason: string } {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, reason: 'not a URL' };
  }
  if (!['http:', 'https:', 'mailto:'].includes(u.protocol))
    return { ok: false, reason: `links with ${u.protocol} are not opened` };
  if (u.username || u.password) return { ok: false, reason: 'links with credentials in them are not opened' };
  const url = u.href;
  return {
    ok: true,
    url,
    confirmation: {
      message: 'Open this link in your browser?',
      detail: `${url}\n\nIt comes from data in the console (an application or device model description). Check the address before you open it.`,
    },
  };
}

/**
 * The web portal for the Help menu: the server's URL and nothing else. The person signs in there with
 * a token of their own; the administrator token is never put in a URL.
 */
export function portalUrl(serverUrl: string): string {
  const u = new URL(serverUrl);
  u.username = '';
  u.password = '';
  u.hash = '';
  u.search = '';
  u.pathname = '/';
  return u.href;
}

/** The window's web preferences: isolated, sandboxed, no Node, and no DevTools in packaged builds. */
export function windowPreferences(o: { preload: string; packaged: boolean }) {
  return {
    preload: o.preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    devTools: !o.packaged,
  } as const;
}

export interface MenuItem {
  label?: string;
  role?: string;
  type?: 'separator';
  submenu?: MenuItem[];
  click?: () => void;
}

/** The application menu; the DevTools toggle only in development builds. */
export function menuTemplate(o: { packaged: boolean; openPortal: () => void }): MenuItem[] {
  const view: MenuItem[] = [
    { role: 'reload' },
    { role: 'forceReload' },
    ...(o.packaged ? [] : [{ role: 'toggleDevTools' }]),
    { type: 'separator' },
    { role: 'resetZoom' },
    { role: 'zoomIn' },
    { role: 'zoomOut' },
    { type: 'separator' },
    { role: 'togglefullscreen' },
  ];
  return [
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { label: 'View', submenu: view },
    { label: 'Help', submenu: [{ label: 'Open the web portal in your browser', click: o.openPortal }] },
  ];
}
