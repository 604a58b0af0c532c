import fs from 'node:fs';
import type { Clock } from '../../../lib/base/index.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/index.js';
import { openSerialSmp, type SmpClient } from '../../../lib/smp/index.js';
import { boardByName, UNKNOWN_BOARD } from './boards.js';
import type { McuConfig } from './config.js';

/** What the host knows of one MCU, reported as its child device (ADR 0441). */
export interface McuState {
  name: string;
  port: string;
  baud: number;
  /** How it was found: `agent.yaml` (`mcus:`) or a known board on USB. */
  source: 'config' | 'usb';
  connected: boolean;
  /** Epoch ms of the last change of `connected`. */
  since: number;
  /** Epoch ms of the last answer from the device; null if it never answered. */
  lastSeenAt: number | null;
  board: string | null;
  /** The running firmware's version (MCUboot image of the active slot), else the Zephyr release. */
  firmware: string | null;
  zephyr: string | null;
  ocre: string | null;
  memory: string;
  storage: string;
  architecture: string;
  /** Resets seen since the agent started (boot banners on the console, reconnections). */
  resets: number;
  lastResetAt: number | null;
  /** Why it is not connected (the port's or the device's words). */
  lastError: string | null;
}

export type McuEvent =
  | { type: 'connected'; mcu: string; at: number; first: boolean }
  | { type: 'disconnected'; mcu: string; at: number; reason: string }
  | { type: 'reset'; mcu: string; at: number; reason: string }
  | { type: 'changed'; mcu: string; at: number };

export interface McuLinkOptions {
  config: McuConfig;
  source: 'config' | 'usb';
  clock: Clock;
  logger: Logger;
  timeoutMs: number;
  lineBuffers: number;
  emit(e: McuEvent): void;
  /** Opens the SMP client (default: the serial port). */
  open?: (c: McuConfig) => Promise<SmpClient>;
}

const BOOT_BANNER = /\*\*\* Booting Zephyr OS/;

/**
 * One MCU on its serial line: opens it, learns the board and firmware, watches the console for boot
 * banners (a reset loses Ocre's container list, which lives in RAM), notices an unplugged cable (the
 * port closes, or the device stops answering) and opens it again when it comes back. Commands go
 * through `client()`, which refuses with Margo's code 102 (child device unreachable) while it is away.
 */
export class McuLink {
  private smp: SmpClient | undefined;
  private connecting: Promise<void> | undefined;
  private stopWatch: (() => void) | undefined;
  private everConnected = false;
  private readonly s: McuState;

  constructor(private readonly o: McuLinkOptions) {
    const c = o.config;
    const known = boardByName(c.board);
    this.s = {
      name: c.name,
      port: c.port,
      baud: c.baud,
      source: o.source,
      connected: false,
      since: o.clock.now(),
      lastSeenAt: null,
      board: c.board ?? null,
      firmware: null,
      zephyr: null,
      ocre: null,
      memory: c.memory ?? known?.memory ?? UNKNOWN_BOARD.memory,
      storage: c.storage ?? known?.storage ?? UNKNOWN_BOARD.storage,
      architecture: known?.architecture ?? UNKNOWN_BOARD.architecture,
      resets: 0,
      lastResetAt: null,
      lastError: null,
    };
  }

  get name(): string {
    return this.s.name;
  }

  state(): McuState {
    return { ...this.s };
  }

  /** The SMP client while connected; Margo error 102 otherwise. */
  client(): SmpClient {
    if (!this.smp || this.smp.disconnected())
      throw new OutpostError(
        '102',
        `microcontroller ${this.s.name} (${this.s.port}) is unreachable: ${this.s.lastError ?? 'not connected'}`,
        { data: { mcu: this.s.name } },
      );
    return this.smp;
  }

  /** Records an answer from the device (any successful command). */
  seen(): void {
    this.s.lastSeenAt = this.o.clock.now();
  }

  /** One health check: opens the port when absent, else an echo; a silent device counts as gone. */
  async check(): Promise<void> {
    const smp = this.smp;
    if (!smp) return this.connect();
    try {
      await smp.os.echo('outpost');
      this.seen();
    } catch (e) {
      const code = (e as OutpostError).code;
      // Only this client: a new connection made meanwhile stays.
      if (code === 'smp/disconnected' || code === 'timeout' || code === 'smp/timeout')
        await this.drop((e as Error).message, smp);
    }
  }

  /** Opens the port when it exists (a missing port is simply absent, not an error each time). */
  connect(): Promise<void> {
    this.connecting ??= this.doConnect().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async doConnect(): Promise<void> {
    if (this.smp) return;
    if (this.s.port.startsWith('/') && !fs.existsSync(this.s.port)) {
      this.s.lastError = `${this.s.port}: no such serial port (is the device plugged in?)`;
      return;
    }
    let smp: SmpClient;
    try {
      // A port that vanishes while it is being opened must not hold the link forever.
      smp = await deadline(
        (this.o.open ?? defaultOpen(this.o))(this.o.config),
        this.o.timeoutMs,
        `opening ${this.s.port}`,
        (late) => void late.close().catch(() => undefined),
      );
    } catch (e) {
      this.s.lastError = (e as Error).message;
      return;
    }
    try {
      // The device must answer before it counts as present (a port can exist with nothing behind it).
      await smp.os.echo('outpost');
    } catch (e) {
      this.s.lastError = `${this.s.port}: no SMP answer (${(e as Error).message})`;
      await closeSoon(smp, this.o.timeoutMs);
      return;
    }
    this.smp = smp;
    this.stopWatch = smp.watchConsole((line) => {
      if (BOOT_BANNER.test(line)) this.noteReset('the device booted (reset, power or watchdog)');
    });
    smp.onDisconnect((err) => {
      void this.drop(err.message, smp);
    });
    // Known (board, firmware) before it counts as connected: whoever sees it connected sees all of it.
    await this.identify(smp);
    if (this.smp !== smp) return;
    const now = this.o.clock.now();
    const first = !this.everConnected;
    this.everConnected = true;
    Object.assign(this.s, { connected: true, since: now, lastSeenAt: now, lastError: null });
    this.o.logger.info(
      { mcu: this.s.name, port: this.s.port, board: this.s.board, firmware: this.s.firmware },
      'microcontroller connected',
    );
    this.o.emit({ type: 'connected', mcu: this.s.name, at: now, first });
    // Plugged in again: it was powered off, so what ran on it is gone like after a reset.
    if (!first) this.noteReset('the device was connected again (power cycle)');
  }

  private noteReset(reason: string): void {
    const at = this.o.clock.now();
    this.s.resets++;
    this.s.lastResetAt = at;
    this.o.logger.warn({ mcu: this.s.name, reason }, 'microcontroller reset: its containers are made again');
    this.o.emit({ type: 'reset', mcu: this.s.name, at, reason });
  }

  /** Board, firmware and runtime versions, each from the device when it says (os info, img, ocre). */
  private async identify(smp: SmpClient): Promise<void> {
    const before = JSON.stringify(this.s);
    try {
      const board = (await smp.os.info('i')).trim();
      if (board && !this.o.config.board) {
        this.s.board = board;
        const known = boardByName(board);
        if (known && !this.o.config.memory) this.s.memory = known.memory;
        if (known && !this.o.config.storage) this.s.storage = known.storage;
        if (known) this.s.architecture = known.architecture;
      }
    } catch {
      /* older firmware: no board in os info */
    }
    try {
      this.s.zephyr = (await smp.os.info('r')).trim() || null;
    } catch {
      /* no os info */
    }
    try {
      const slots = await smp.img.list();
      const active = slots.find((s) => s.active) ?? slots[0];
      this.s.firmware = active?.version ?? this.s.zephyr;
    } catch {
      this.s.firmware = this.s.zephyr;
    }
    try {
      const r = await smp.shell.exec(['ocre', 'version']);
      const m = /version\s+(\S+)/i.exec(r.output + r.console.join('\n'));
      this.s.ocre = m ? m[1]! : null;
    } catch {
      /* no shell group: create and start will say so */
    }
    if (JSON.stringify(this.s) !== before)
      this.o.emit({ type: 'changed', mcu: this.s.name, at: this.o.clock.now() });
  }

  /** The line is gone: closes the client, marks the MCU absent. */
  async drop(reason: string, which?: SmpClient): Promise<void> {
    const smp = this.smp;
    if (!smp || (which && which !== smp)) return;
    this.smp = undefined;
    this.stopWatch?.();
    this.stopWatch = undefined;
    const at = this.o.clock.now();
    Object.assign(this.s, { connected: false, since: at, lastError: reason });
    this.o.logger.warn({ mcu: this.s.name, port: this.s.port, reason }, 'microcontroller disconnected');
    this.o.emit({ type: 'disconnected', mcu: this.s.name, at, reason });
    await closeSoon(smp, this.o.timeoutMs);
  }

  async close(): Promise<void> {
    const smp = this.smp;
    this.smp = undefined;
    this.stopWatch?.();
    await this.connecting?.catch(() => undefined);
    if (smp) await closeSoon(smp, this.o.timeoutMs);
    // A connection that was being made when close was called.
    const late = this.smp as SmpClient | undefined;
    this.smp = undefined;
    if (late) await closeSoon(late, this.o.timeoutMs);
  }
}

/** `p`, or a timeout error after `ms`; a value that arrives late goes to `late` (to be closed). */
function deadline<T>(p: Promise<T>, ms: number, what: string, late: (v: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new OutpostError('timeout', `${what} took longer than ${ms} ms`));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        if (done) late(v);
        else resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        if (!done) reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Closes a client; a port that never confirms its close is left behind after `ms`. */
async function closeSoon(smp: SmpClient, ms: number): Promise<void> {
  await deadline(smp.close(), ms, 'closing the port', () => undefined).catch(() => undefined);
}

function defaultOpen(o: McuLinkOptions) {
  return (c: McuConfig) =>
    openSerialSmp({ path: c.port, baudRate: c.baud, timeoutMs: o.timeoutMs, lineBuffers: o.lineBuffers });
}
