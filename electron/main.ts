// Electron main process: starts the core in-process (with the console API, so edgectl works too),
// serves the built console from the `app://console` protocol, and binds the contract to IPC. Every
// security decision is a pure function in security.ts (tested under Node); this file wires them.
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, safeStorage, session, shell } from 'electron';
import { startHost, type Host } from '../core/server/host.js';
import { resolveHome, projectRoot } from '../lib/base/index.js';
import { bindIpc } from '../core/rpc/ipc.js';
import { CONSOLE_CSP } from '../core/server/console-http.js';
import { OutpostError } from '../lib/errors/index.js';
import { parseDesktopArgs } from './args.js';
import {
  APP_INDEX_URL,
  APP_SCHEME,
  externalLink,
  isTrustedSender,
  mayNavigate,
  menuTemplate,
  portalUrl,
  serveConsole,
  windowPreferences,
} from './security.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererDir = path.join(projectRoot(), 'dist', 'renderer');

// Before `ready`: the console's own scheme, standard and secure (its pages are a secure context).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

/** Opens a link only after the person saw the full URL and said yes. */
async function openExternalConfirmed(raw: string, parent?: BrowserWindow): Promise<void> {
  const link = externalLink(raw);
  if (!link.ok) return;
  const { response } = await dialog.showMessageBox(parent, {
    type: 'question',
    buttons: ['Cancel', 'Open in browser'],
    defaultId: 0,
    cancelId: 0,
    message: link.confirmation.message,
    detail: link.confirmation.detail,
  });
  if (response === 1) await shell.openExternal(link.url);
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let host: Host | undefined;
  let win: BrowserWindow | undefined;

  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });

  app.on('window-all-closed', () => app.quit());

  app.on('before-quit', (e) => {
    if (host) {
      e.preventDefault();
      const h = host;
      host = undefined;
      void h.stop().finally(() => app.quit());
    }
  });

  // Whatever web contents exist (windows, anything they try to open): no webviews, no navigation out
  // of the console, no new windows (links go to the system browser after a confirmation).
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-attach-webview', (ev) => ev.preventDefault());
    contents.on('will-navigate', (ev, url) => {
      if (!mayNavigate(url)) ev.preventDefault();
    });
    contents.on('will-redirect', (ev, url) => {
      if (!mayNavigate(url)) ev.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      void openExternalConfirmed(url, win);
      return { action: 'deny' };
    });
  });

  void app.whenReady().then(async () => {
    const args = parseDesktopArgs(process.argv.slice(1));
    try {
      host = await startHost({
        home: resolveHome(args.home),
        overrides: { role: args.role ?? 'all' },
        sealer: keychainSealer(),
      });
    } catch (err) {
      dialog.showErrorBox('Outpost cannot start', err instanceof OutpostError ? err.message : String(err));
      app.exit(1);
      return;
    }
    const ses = session.defaultSession;
    ses.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
    ses.setPermissionCheckHandler(() => false);
    // The console's files, with the CSP as a header (not only the meta tag).
    ses.protocol.handle(APP_SCHEME, (request) => {
      const r = serveConsole(rendererDir, request.url, request.method, CONSOLE_CSP);
      return new Response(r.status === 200 ? new Uint8Array(r.body) : r.body.toString(), {
        status: r.status,
        headers: r.headers,
      });
    });

    const user = os.userInfo().username;
    const binding = bindIpc({
      core: host.core,
      ipcMain,
      isTrustedSender,
      // The account that owns the data folder can read the administrator token anyway; signing in as
      // it is offered, never implied (ADR 0524). `--no-local-admin` leaves API tokens only.
      localAdmin: args.localAdmin
        ? {
            id: `desktop:${user}`,
            name: user,
            tenantId: host.core.config.tenancy.defaultTenant,
            roles: ['admin'],
          }
        : undefined,
    });

    const serverUrl = host.info.url;
    Menu.setApplicationMenu(
      Menu.buildFromTemplate(
        menuTemplate({
          packaged: app.isPackaged,
          openPortal: () => void shell.openExternal(portalUrl(serverUrl)),
        }),
      ),
    );

    win = new BrowserWindow({
      width: 1280,
      height: 820,
      title: 'Outpost',
      webPreferences: windowPreferences({
        preload: path.join(here, 'preload.cjs'),
        packaged: app.isPackaged,
      }),
    });
    binding.addWindow(win.webContents);
    await win.loadURL(APP_INDEX_URL);
  });
}

/**
 * The bundle signing key sealed by the OS keychain (ADR 0405): Keychain on macOS, DPAPI on Windows,
 * libsecret or kwallet on Linux. Linux without a keyring falls back to a hard-coded password
 * ("basic_text"), which protects nothing: then the key stays a 0600 file like on a headless server.
 */
function keychainSealer() {
  const available = () => {
    if (!safeStorage.isEncryptionAvailable()) return false;
    if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text')
      return false;
    return true;
  };
  return {
    isAvailable: available,
    seal: (text: string) => safeStorage.encryptString(text),
    open: (sealed: Buffer) => safeStorage.decryptString(sealed),
  };
}
