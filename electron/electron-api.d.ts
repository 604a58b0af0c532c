// The part of Electron's API this project uses. Electron is an optional dependency whose binary
// download fails on machines without internet, and then its type declarations are absent too;
// this keeps type checking identical everywhere. Extend it when main or preload use more.
declare module 'electron' {
  interface WebContents {
    readonly id: number;
    send(channel: string, ...args: unknown[]): void;
    isDestroyed(): boolean;
    on(
      event: 'will-navigate' | 'will-redirect',
      listener: (event: { preventDefault(): void }, url: string) => void,
    ): this;
    on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): this;
    setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void;
  }
  class BrowserWindow {
    constructor(options: {
      width?: number;
      height?: number;
      title?: string;
      webPreferences?: {
        preload?: string;
        contextIsolation?: boolean;
        sandbox?: boolean;
        nodeIntegration?: boolean;
        nodeIntegrationInWorker?: boolean;
        nodeIntegrationInSubFrames?: boolean;
        webSecurity?: boolean;
        allowRunningInsecureContent?: boolean;
        experimentalFeatures?: boolean;
        webviewTag?: boolean;
        navigateOnDragDrop?: boolean;
        safeDialogs?: boolean;
        devTools?: boolean;
      };
    });
    readonly webContents: WebContents;
    loadURL(url: string): Promise<void>;
    isMinimized(): boolean;
    restore(): void;
    focus(): void;
  }
  interface IpcMainInvokeEvent {
    senderFrame: { url: string } | null;
    sender: WebContents;
  }
  /** The OS keychain (seals the bundle signing key on the desktop). Usable after `app.whenReady()`. */
  const safeStorage: {
    isEncryptionAvailable(): boolean;
    /** Linux only: `basic_text` means no keyring (a fixed password). */
    getSelectedStorageBackend():
      'basic_text' | 'gnome_libsecret' | 'kwallet' | 'kwallet5' | 'kwallet6' | 'unknown';
    encryptString(plainText: string): Buffer;
    decryptString(encrypted: Buffer): string;
  };
  const ipcMain: {
    handle(
      channel: string,
      listener: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>,
    ): void;
    removeHandler(channel: string): void;
  };
  const ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<never>;
    on(channel: string, listener: (event: unknown, ...args: never[]) => void): void;
    removeListener(channel: string, listener: (event: unknown, ...args: never[]) => void): void;
  };
  const contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  const app: {
    readonly isPackaged: boolean;
    requestSingleInstanceLock(): boolean;
    quit(): void;
    exit(code?: number): void;
    whenReady(): Promise<void>;
    on(event: 'second-instance' | 'window-all-closed', listener: () => void): void;
    on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): void;
    on(event: 'web-contents-created', listener: (event: unknown, contents: WebContents) => void): void;
  };
  const dialog: {
    showErrorBox(title: string, content: string): void;
    showMessageBox(
      parent: BrowserWindow | undefined,
      options: {
        type?: 'none' | 'info' | 'error' | 'question' | 'warning';
        buttons?: string[];
        defaultId?: number;
        cancelId?: number;
        message: string;
        detail?: string;
      },
    ): Promise<{ response: number }>;
  };
  const protocol: {
    registerSchemesAsPrivileged(
      schemes: {
        scheme: string;
        privileges?: { standard?: boolean; secure?: boolean; supportFetchAPI?: boolean };
      }[],
    ): void;
  };
  const shell: { openExternal(url: string): Promise<void> };
  interface MenuItemOptions {
    label?: string;
    role?: string;
    type?: 'separator';
    submenu?: MenuItemOptions[];
    click?: () => void;
  }
  class Menu {
    static buildFromTemplate(template: MenuItemOptions[]): Menu;
    static setApplicationMenu(menu: Menu | null): void;
  }
  const session: {
    defaultSession: {
      webRequest: {
        onHeadersReceived(
          listener: (
            details: { responseHeaders?: Record<string, string[]> },
            callback: (response: { responseHeaders?: Record<string, string[]> }) => void,
          ) => void,
        ): void;
      };
      setPermissionRequestHandler(
        handler: (wc: WebContents, permission: string, callback: (granted: boolean) => void) => void,
      ): void;
      setPermissionCheckHandler(handler: () => boolean): void;
      protocol: {
        handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
      };
    };
  };
}
