// Electron main process: starts the core in-process (with the console API, so edgectl works too),
// opens the console window on the built renderer, and binds the contract to IPC.
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, safeStorage, session, shell } from 'electron';
import { startHost, type Host } from '../core/server/host.js';
import { resolveHome, projectRoot } from '../lib/base/index.js';
import { bindIpc } from '../core/rpc/ipc.js';
import { CONSOLE_CSP } from '../core/server/console-http.js';
import { OutpostError } from '../lib/errors/index.js';
import { parseDesktopArgs } from './args.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererIndex = path.join(projectRoot(), 'dist', 'renderer', 'index.html');
const rendererUrl = pathToFileURL(rendererIndex).href;
const rendererDir = pathToFileURL(path.dirname(rendererIndex)).href;

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
    session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
      cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONSOLE_CSP] } });
    });
    session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));

    const binding = bindIpc({
      core: host.core,
      ipcMain,
      principal: {
        id: `desktop:${os.userInfo().username}`,
        name: os.userInfo().username,
        tenantId: host.core.config.tenancy.defaultTenant,
        admin: true,
      },
      isTrustedSender: (url) => url.startsWith(rendererDir),
    });

    Menu.setApplicationMenu(
      Menu.buildFromTemplate([
        { role: 'fileMenu' },
        { role: 'editMenu' },
        { role: 'viewMenu' },
        {
          label: 'Help',
          submenu: [
            {
              label: 'Open web portal in browser',
              click: () =>
                void shell.openExternal(`${host?.info.url ?? ''}/#token=${host?.info.token ?? ''}`),
            },
          ],
        },
      ]),
    );

    win = new BrowserWindow({
      width: 1280,
      height: 820,
      title: 'Outpost',
      webPreferences: {
        preload: path.join(here, 'preload.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true,
      },
    });
    binding.addWindow(win.webContents);
    // Never navigate away from the console, never open new windows inside the app.
    win.webContents.on('will-navigate', (e, url) => {
      if (!url.startsWith(rendererDir)) e.preventDefault();
    });
    win.webContents.setWindowOpenHandler(({ url }) => {
      if (/^https?:\/\//.test(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
    await win.loadURL(rendererUrl);
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
