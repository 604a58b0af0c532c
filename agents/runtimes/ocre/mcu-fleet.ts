import type { Clock } from '../../../lib/base/index.js';
import type { Logger } from '../../../lib/log/index.js';
import type { SmpClient } from '../../../lib/smp/index.js';
import { knownBoardOnUsb, listSerialPorts, recogniseBoards, type SerialPortInfo } from './boards.js';
import type { McuConfig, OcreRuntimeConfig } from './config.js';
import type * as LinkCode from './mcu-link.js';
import type { McuEvent, McuLink, McuState } from './mcu-link.js';

type LinkModule = typeof LinkCode;

export interface McuFleetOptions {
  mcus: readonly McuConfig[];
  config: OcreRuntimeConfig;
  clock: Clock;
  logger: Logger;
  /**
   * Lists serial ports for USB recognition (default: SerialPort.list(), guarded). Called only when
   * sysfs shows a known board on USB or cannot be read (`knownBoardOnUsb`).
   */
  listPorts?: () => Promise<{ ports: SerialPortInfo[]; error?: string }>;
  /** The USB devices in sysfs (default /sys/bus/usb/devices). */
  usbDevices?: string;
  open?: (c: McuConfig) => Promise<SmpClient>;
}

/** Look for new USB boards every this many checks. */
const DISCOVER_EVERY = 6;

/**
 * The host's microcontrollers: the configured ones and known boards found on USB, each an `McuLink`
 * checked every `checkSeconds` (reconnecting the absent ones). Listeners hear connections, losses and
 * resets; the agent turns them into child-device reports and reconciles the MCU's deployments.
 * The links' code (SMP, CBOR, serialport) is loaded only once there is an MCU (`McuFleet.open`, or a
 * board found on USB): an agent without microcontrollers does not hold it (issue 18, ADR 0545).
 */
export class McuFleet {
  /** A fleet of the configured MCUs (loading the links' code when there are any). */
  static async open(o: McuFleetOptions): Promise<McuFleet> {
    return new McuFleet(o, o.mcus.length > 0 ? await import('./mcu-link.js') : undefined);
  }

  private readonly links = new Map<string, McuLink>();
  private readonly listeners = new Set<(e: McuEvent) => void>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private checks = 0;
  private listError: string | undefined;
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly o: McuFleetOptions,
    private linkModule: LinkModule | undefined,
  ) {
    for (const c of o.mcus) this.add(linkModule!, c, 'config');
  }

  private add(m: LinkModule, c: McuConfig, source: 'config' | 'usb'): McuLink {
    const link = new m.McuLink({
      config: c,
      source,
      clock: this.o.clock,
      logger: this.o.logger.child({ component: 'ocre' }),
      timeoutMs: this.o.config.timeoutSeconds * 1000,
      lineBuffers: this.o.config.lineBuffers,
      emit: (e) => {
        for (const l of [...this.listeners]) l(e);
      },
      ...(this.o.open ? { open: this.o.open } : {}),
    });
    this.links.set(c.name, link);
    return link;
  }

  get(name: string): McuLink | undefined {
    return this.links.get(name);
  }

  list(): McuState[] {
    return [...this.links.values()].map((l) => l.state());
  }

  on(listener: (e: McuEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Opens every MCU once, then checks them on a timer. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.tick();
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.loop = this.tick().finally(() => this.schedule());
    }, this.o.config.checkSeconds * 1000);
  }

  /** One round: discovery now and then, then every link checked (in parallel: lines are independent). */
  async tick(): Promise<void> {
    if (this.o.config.discover && this.checks++ % DISCOVER_EVERY === 0) await this.discover();
    await Promise.all([...this.links.values()].map((l) => l.check().catch(() => undefined)));
  }

  private async discover(): Promise<void> {
    // No known board in sysfs: nothing to list (no serialport addon loaded, no udevadm run).
    if (knownBoardOnUsb(this.o.usbDevices) === false) return;
    const { ports, error } = await (this.o.listPorts ?? (() => listSerialPorts(this.o.logger)))();
    if (error && error !== this.listError)
      this.o.logger.info(
        { err: error },
        'serial ports cannot be listed here, so boards on USB are not recognised; the MCUs of agent.yaml are used',
      );
    this.listError = error;
    const known = [...this.links.values()].map((l) => {
      const st = l.state();
      return { name: st.name, port: st.port, baud: st.baud };
    });
    const found = recogniseBoards(ports, known);
    if (found.length > 0) this.linkModule ??= await import('./mcu-link.js');
    for (const c of found) {
      this.o.logger.info({ mcu: c.name, port: c.port, board: c.board }, 'known board found on USB');
      this.add(this.linkModule!, c, 'usb');
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.loop?.catch(() => undefined);
    await Promise.all([...this.links.values()].map((l) => l.close()));
  }
}
