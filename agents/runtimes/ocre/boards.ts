import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../../lib/log/index.js';
import type { McuConfig } from './config.js';

/**
 * Boards Ocre supports, recognised on USB by the vendor and product id of the serial interface they
 * show (their debug probe or Zephyr's own CDC ACM). Recognising is all the agent does with USB: it talks
 * to the board over the serial port the operating system made for it (ADR 0442). `memory` is the RAM of
 * the SoC and `storage` the littlefs partition of Ocre's board files, used when the device's own
 * answers do not say and agent.yaml names none.
 */
export interface KnownBoard {
  board: string;
  description: string;
  usb: { vendorId: number; productId: number }[];
  memory: string;
  storage: string;
  architecture: string;
}

export const KNOWN_BOARDS: readonly KnownBoard[] = [
  {
    board: 'b_u585i_iot02a',
    description: 'ST B-U585I-IOT02A (STM32U585, ST-LINK V3)',
    usb: [
      { vendorId: 0x0483, productId: 0x374e },
      { vendorId: 0x0483, productId: 0x374f },
      { vendorId: 0x0483, productId: 0x3753 },
    ],
    memory: '768Ki',
    storage: '512Ki',
    architecture: 'arm',
  },
  {
    board: 'pico_plus2',
    description: 'Pimoroni Pico Plus 2 (RP2350), its UART through a Raspberry Pi Debug Probe',
    usb: [{ vendorId: 0x2e8a, productId: 0x000c }],
    memory: '512Ki',
    storage: '1Mi',
    architecture: 'arm',
  },
  {
    board: 'zephyr-cdc-acm',
    description: "a board with Zephyr's USB CDC ACM serial console",
    usb: [{ vendorId: 0x2fe3, productId: 0x0100 }],
    memory: '256Ki',
    storage: '256Ki',
    architecture: 'arm',
  },
];

/** What placement assumes of a board nobody described: small (an MCU with a littlefs partition). */
export const UNKNOWN_BOARD = { memory: '128Ki', storage: '256Ki', architecture: 'arm' } as const;

export function boardByName(name: string | undefined): KnownBoard | undefined {
  return name === undefined ? undefined : KNOWN_BOARDS.find((b) => b.board === name);
}

export function boardByUsb(vendorId: number, productId: number): KnownBoard | undefined {
  return KNOWN_BOARDS.find((b) => b.usb.some((u) => u.vendorId === vendorId && u.productId === productId));
}

/** One serial port as `SerialPort.list()` gives it (ids are hex strings without 0x). */
export interface SerialPortInfo {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
  manufacturer?: string | undefined;
}

/**
 * MCUs found on USB serial ports by their vendor and product id, named `<board>-<serial tail>`; ports
 * that `configured` already names are skipped. Listing can fail (Linux lists through `udevadm`, which a
 * container may lack): the failure is logged once by the caller and nothing is found.
 */
export function recogniseBoards(
  ports: readonly SerialPortInfo[],
  configured: readonly McuConfig[],
): McuConfig[] {
  const taken = new Set(configured.map((m) => m.port));
  const names = new Set(configured.map((m) => m.name));
  const out: McuConfig[] = [];
  for (const p of ports) {
    if (taken.has(p.path) || !p.vendorId || !p.productId) continue;
    const board = boardByUsb(parseInt(p.vendorId, 16), parseInt(p.productId, 16));
    if (!board) continue;
    const tail = (p.serialNumber ?? '')
      .toLowerCase()
      .replace(/[^a-z0-9]/g, '')
      .slice(-6);
    const base = `${board.board.replace(/_/g, '-').toLowerCase()}${tail ? `-${tail}` : ''}`;
    let name = base;
    for (let n = 2; names.has(name); n++) name = `${base}-${n}`;
    names.add(name);
    out.push({ name, port: p.path, baud: 115200, board: board.board });
  }
  return out;
}

/**
 * Whether a known board may be on USB, from sysfs alone (`<usbDevices>/*\/idVendor` and `idProduct`):
 * `false` when the bus is there and no device on it is a known board, or when sysfs is there
 * (`/sys/bus`) without a USB bus (a host or VM without USB: no board can be plugged in), `true` when one
 * is, `undefined` when sysfs cannot be read here (not Linux, a container without it): the caller lists
 * the serial ports then. It keeps an agent without boards from loading serialport (its ~30 files and
 * native addon) and, on Linux, from running `udevadm` to list ports every discovery round (issue 18,
 * ADR 0545, 0546).
 */
export function knownBoardOnUsb(usbDevices = '/sys/bus/usb/devices'): boolean | undefined {
  let entries: string[];
  try {
    entries = fs.readdirSync(usbDevices);
  } catch {
    return fs.existsSync(path.dirname(path.dirname(usbDevices))) ? false : undefined;
  }
  const read = (dir: string, f: string) => {
    try {
      return parseInt(fs.readFileSync(path.join(usbDevices, dir, f), 'utf8').trim(), 16);
    } catch {
      return NaN;
    }
  };
  return entries.some((d) => !d.includes(':') && boardByUsb(read(d, 'idVendor'), read(d, 'idProduct')));
}

/** `SerialPort.list()`, guarded: a machine without udevadm (or a serial subsystem) lists nothing. */
export async function listSerialPorts(logger?: Logger): Promise<{ ports: SerialPortInfo[]; error?: string }> {
  try {
    const { SerialPort } = await import('serialport');
    return { ports: await SerialPort.list() };
  } catch (e) {
    const error = (e as Error).message.split('\n')[0] ?? String(e);
    logger?.debug({ err: error }, 'serial ports cannot be listed; only the configured MCUs are used');
    return { ports: [], error };
  }
}
