import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { peekBundle } from '../../lib/bundle/index.js';
import type { Drive, DriveBundle } from '../../lib/contract/index.js';

/**
 * The removable drives mounted on the server (ADR 0408): the partitions of removable or hot-plugged (USB)
 * disks that are mounted (`lsblk -J`), and the bundle files at their top level, each described by what it
 * claims (`peekBundle`, nothing verified). A change is announced so the console can offer to verify and
 * import a bundle addressed here; nothing is ever imported by itself.
 *
 * Every few seconds the watcher reads the mount table (one small file) and the top level of the drives
 * it knows; it runs lsblk only when the mount table changed, and at least every `rescanMs` otherwise
 * (ADR 0507): a process spawn every two seconds cost an idle server more than everything else it does
 * between polls, and a fork of a large server process is slow.
 */
export interface DriveState {
  drives: Drive[];
  watching: boolean;
  scannedAt: number | null;
  error: string | null;
}

export interface DriveWatcher {
  state(): DriveState;
  /** Looks now, running lsblk whatever the mount table says. */
  scan(): Promise<DriveState>;
  /**
   * What the timer does: runs lsblk if the mount table changed since its last run (or `rescanMs`
   * passed, or the last run failed), else looks again at the drives already known.
   */
  tick(): Promise<DriveState>;
  start(): void;
  stop(): void;
}

interface LsblkDevice {
  path?: string | null;
  name?: string | null;
  rm?: boolean | string | null;
  hotplug?: boolean | string | null;
  tran?: string | null;
  type?: string | null;
  mountpoint?: string | null;
  mountpoints?: (string | null)[] | null;
  label?: string | null;
  size?: number | string | null;
  model?: string | null;
  vendor?: string | null;
  children?: LsblkDevice[];
}

const COLUMNS = 'PATH,RM,HOTPLUG,TRAN,TYPE,MOUNTPOINT,LABEL,SIZE,MODEL,VENDOR';
const flag = (v: boolean | string | null | undefined) => v === true || v === '1' || v === 'true';
const text = (v: string | null | undefined) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

/** The mounted file systems of removable disks, from `lsblk -J -b -o ...` output. */
export function removableMounts(json: string): Omit<Drive, 'bundles' | 'freeBytes'>[] {
  const parsed = JSON.parse(json) as { blockdevices?: LsblkDevice[] };
  const out: Omit<Drive, 'bundles' | 'freeBytes'>[] = [];
  const walk = (
    d: LsblkDevice,
    parent: { removable: boolean; tran: string | null; model: string | null; vendor: string | null },
  ) => {
    const removable = parent.removable || flag(d.rm) || flag(d.hotplug) || d.tran === 'usb';
    const ctx = {
      removable,
      tran: text(d.tran) ?? parent.tran,
      model: text(d.model) ?? parent.model,
      vendor: text(d.vendor) ?? parent.vendor,
    };
    const mounts = [d.mountpoint, ...(d.mountpoints ?? [])].filter(
      (m): m is string => typeof m === 'string' && m.startsWith('/') && m !== '/',
    );
    if (removable && d.type !== 'rom')
      for (const m of new Set(mounts))
        out.push({
          device: text(d.path) ?? (d.name ? `/dev/${d.name}` : '?'),
          label: text(d.label),
          model: ctx.model,
          vendor: ctx.vendor,
          transport: ctx.tran,
          size: d.size === null || d.size === undefined ? null : Number(d.size),
          mountpoint: m,
        });
    for (const c of d.children ?? []) walk(c, ctx);
  };
  for (const d of parsed.blockdevices ?? [])
    walk(d, { removable: false, tran: null, model: null, vendor: null });
  return out;
}

interface Listing {
  result: { mounts: Omit<Drive, 'bundles' | 'freeBytes'>[] } | { error: string };
  table: string;
  at: number;
}

/** lsblk runs at least this often even when the mount table did not change (labels, sizes). */
export const DRIVE_RESCAN_MS = 60_000;

export function createDriveWatcher(deps: {
  lsblk: string;
  intervalMs: number;
  /** The mount table whose change means lsblk must run again (`/proc/self/mountinfo`). */
  mountTable: string;
  /** lsblk runs at least this often (DRIVE_RESCAN_MS by default). */
  rescanMs?: number;
  enabled: boolean;
  clock: Clock;
  logger: Logger;
  /** Whether a bundle is for this server, and whether it was imported already. */
  classify(peek: {
    kind: DriveBundle['kind'];
    source: string | null;
    target: string | null;
    sequence: number | null;
  }): {
    forHere: boolean;
    imported: boolean;
  };
  onChange(): void;
}): DriveWatcher {
  const log = deps.logger.child({ component: 'drives' });
  let state: DriveState = { drives: [], watching: deps.enabled, scannedAt: null, error: null };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<DriveState> | undefined;
  /** What the last lsblk run answered, the mount table read just before it, and when (monotonic). */
  let listed: Listing | undefined;
  const rescanMs = deps.rescanMs ?? DRIVE_RESCAN_MS;
  const readTable = async (): Promise<string> => {
    try {
      return await fsp.readFile(deps.mountTable, 'latin1');
    } catch (err) {
      return `unreadable: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    }
  };
  const peeks = new Map<string, { key: string; value: Omit<DriveBundle, 'forHere' | 'imported'> }>();

  const run = (): Promise<string> =>
    new Promise((resolve, reject) =>
      execFile(
        deps.lsblk,
        ['-J', '-b', '-o', COLUMNS],
        { timeout: 10_000, maxBuffer: 4 << 20 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );

  const describe = async (file: string): Promise<DriveBundle | undefined> => {
    let st;
    try {
      st = await fsp.stat(file);
    } catch {
      return undefined;
    }
    if (!st.isFile()) return undefined;
    const key = `${st.size}:${st.mtimeMs}`;
    let cached = peeks.get(file);
    if (cached?.key !== key) {
      let value: Omit<DriveBundle, 'forHere' | 'imported'>;
      try {
        const p = await peekBundle(file);
        value = {
          file,
          name: path.basename(file),
          size: st.size,
          kind: p.kind ?? null,
          source: p.source ?? null,
          target: p.target ?? null,
          sequence: p.sequence ?? null,
          created: p.created && Number.isFinite(Date.parse(p.created)) ? Date.parse(p.created) : null,
          error: null,
        };
      } catch (err) {
        value = {
          file,
          name: path.basename(file),
          size: st.size,
          kind: null,
          source: null,
          target: null,
          sequence: null,
          created: null,
          error: (err as Error).message,
        };
      }
      cached = { key, value };
      peeks.set(file, cached);
    }
    const c = deps.classify(cached.value);
    return { ...cached.value, ...c };
  };

  /** lsblk's answer: the removable mounts, or why there are none to know of. */
  const list = async (): Promise<Listing['result']> => {
    try {
      return { mounts: removableMounts(await run()) };
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const error =
        e.code === 'ENOENT'
          ? `${deps.lsblk} is not installed: removable drives are not watched (pick files instead)`
          : `listing block devices failed: ${e.message}`;
      if (state.error !== error) log.warn({ err: error }, 'drive watch');
      return { error };
    }
  };

  const scan = async (force: boolean): Promise<DriveState> => {
    const table = await readTable();
    const fresh =
      !force &&
      listed !== undefined &&
      listed.table === table &&
      deps.clock.monotonic() - listed.at < rescanMs;
    if (!fresh) {
      const at = deps.clock.monotonic();
      listed = { result: await list(), table, at };
    }
    const result = listed!.result;
    let next: DriveState;
    if ('error' in result) {
      next = { drives: [], watching: false, scannedAt: deps.clock.now(), error: result.error };
    } else {
      const drives: Drive[] = [];
      for (const m of result.mounts) {
        let names: string[] = [];
        try {
          names = (await fsp.readdir(m.mountpoint)).filter((n) => n.endsWith('.outpost.tar')).sort();
        } catch (err) {
          log.debug({ mount: m.mountpoint, err: (err as Error).message }, 'drive not readable');
        }
        const bundles: DriveBundle[] = [];
        for (const n of names.slice(0, 200)) {
          const b = await describe(path.join(m.mountpoint, n));
          if (b) bundles.push(b);
        }
        const freeBytes = await fsp.statfs(m.mountpoint).then(
          (s) => s.bavail * s.bsize,
          () => null,
        );
        drives.push({ ...m, freeBytes, bundles });
      }
      next = { drives, watching: true, scannedAt: deps.clock.now(), error: null };
    }
    const strip = (s: DriveState) => JSON.stringify({ ...s, scannedAt: null });
    const changed = strip(next) !== strip(state);
    state = next;
    if (changed) deps.onChange();
    return state;
  };

  const look = (force: boolean): Promise<DriveState> => {
    running ??= scan(force).finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    state: () => state,
    scan: () => look(true),
    tick: () => look(false),
    start() {
      if (!deps.enabled) {
        state = {
          drives: [],
          watching: false,
          scannedAt: null,
          error: 'drive watching is off (airgap.drives.enabled)',
        };
        return;
      }
      void this.scan();
      timer = setInterval(() => void this.tick(), deps.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
