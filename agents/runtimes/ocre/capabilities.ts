import { OUTPOST_EXTENSION_KEY, type DeviceCapabilities } from '../../../lib/model/index.js';
import type { McuState } from './mcu-link.js';

/** What the host says of one MCU in its child device's capabilities (`x-outpost-extensions.mcu`). */
export interface McuReport {
  host: string;
  port: string;
  source: 'config' | 'usb';
  connected: boolean;
  since: number;
  lastSeenAt: number | null;
  board: string | null;
  firmware: string | null;
  zephyr: string | null;
  ocre: string | null;
  resets: number;
  lastResetAt: number | null;
  lastError: string | null;
}

/**
 * The Margo DeviceCapabilities of an MCU, the child device `<host>/<mcu>` (ADR 0441): its RAM and
 * littlefs space, one CPU, the `custom` runtime with `x-outpost-extensions.runtimes: [ocre]`, the label
 * `outpost.dev/runtime.ocre=true` (and the board), and in `x-outpost-extensions.mcu` its presence as the
 * host sees it (connected, since, last answer), firmware and resets.
 */
export function mcuCapabilities(host: string, s: McuState): DeviceCapabilities {
  const mcu: McuReport = {
    host,
    port: s.port,
    source: s.source,
    connected: s.connected,
    since: s.since,
    lastSeenAt: s.lastSeenAt,
    board: s.board,
    firmware: s.firmware,
    zephyr: s.zephyr,
    ocre: s.ocre,
    resets: s.resets,
    lastResetAt: s.lastResetAt,
    lastError: s.lastError,
  };
  return {
    properties: {
      id: `${host}/${s.name}`,
      vendor: 'unknown',
      modelNumber: s.board ?? 'unknown',
      serialNumber: `${host}:${s.port}`,
      cpus: [{ cores: 1, architecture: s.architecture === 'arm' ? 'arm' : 'other' }],
      memory: s.memory,
      storage: s.storage,
      supportedRuntimes: ['custom'],
      supportedDeploymentTypes: ['custom'],
    },
    labels: {
      'outpost.dev/runtime.ocre': 'true',
      'outpost.dev/device-kind': 'mcu',
      ...(s.board ? { 'outpost.dev/board': s.board } : {}),
    },
    extensions: {
      [OUTPOST_EXTENSION_KEY]: {
        runtimes: ['ocre'],
        limits: { ocre: { memory: false, cpus: false } },
        mcu,
      },
    },
  };
}
