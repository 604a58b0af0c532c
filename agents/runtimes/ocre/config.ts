import type { ConfigCheck } from '../runtime.js';

/**
 * One microcontroller on a serial line, from `mcus:` in agent.yaml (ADR 0441). `name` becomes the
 * Margo child device `<host>/<name>`; `memory` and `storage` override what the board table says (the
 * RAM Ocre's containers may use, the littlefs space for images).
 */
export interface McuConfig {
  name: string;
  port: string;
  baud: number;
  /** Zephyr board name, when the device does not tell (os info) or to name it for people. */
  board?: string;
  memory?: string;
  storage?: string;
}

/** `runtimes.ocre` in agent.yaml. */
export interface OcreRuntimeConfig {
  enabled: boolean;
  /** Also look for known boards on USB serial ports (by vendor and product id). Default true. */
  discover: boolean;
  /** How often a connected MCU is checked (an echo) and an absent one looked for again. Default 5. */
  checkSeconds: number;
  /** Wait for an answer (per attempt). Default 5. */
  timeoutSeconds: number;
  /** The device's receive line buffers (UART_MCUMGR_RX_BUF_COUNT): pacing. Default 2. */
  lineBuffers: number;
}

export const MCU_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A serial port: a device path (`/dev/ttyACM0`, `/dev/serial/by-id/...`) or a Windows COM port. */
const PORT = /^(\/[^\0]+|COM[1-9][0-9]*)$/;
const BAUDS = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000, 2000000];

export function defaultOcreConfig(): OcreRuntimeConfig {
  return { enabled: true, discover: true, checkSeconds: 5, timeoutSeconds: 5, lineBuffers: 2 };
}

export const OCRE_CONFIG_KEYS = [
  'enabled',
  'discover',
  'checkSeconds',
  'timeoutSeconds',
  'lineBuffers',
] as const;

export function parseOcreConfig(
  v: Record<string, unknown>,
  into: OcreRuntimeConfig,
  c: ConfigCheck,
  field: string,
): void {
  if (v.enabled !== undefined) into.enabled = c.bool(v.enabled, `${field}.enabled`) ?? into.enabled;
  if (v.discover !== undefined) into.discover = c.bool(v.discover, `${field}.discover`) ?? into.discover;
  if (v.checkSeconds !== undefined)
    into.checkSeconds = c.num(v.checkSeconds, `${field}.checkSeconds`, 0.05, 3600) ?? into.checkSeconds;
  if (v.timeoutSeconds !== undefined)
    into.timeoutSeconds = c.num(v.timeoutSeconds, `${field}.timeoutSeconds`, 0.1, 600) ?? into.timeoutSeconds;
  if (v.lineBuffers !== undefined)
    into.lineBuffers = c.num(v.lineBuffers, `${field}.lineBuffers`, 1, 64, true) ?? into.lineBuffers;
}

/**
 * Reads `mcus:` (a list of `{ name, port, baud?, board?, memory?, storage? }`); every problem is named
 * with its field (`mcus[1].port`). Names and ports must be unique.
 */
export function parseMcus(v: unknown, c: ConfigCheck): McuConfig[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    c.bad('mcus', 'must be a list of { name, port, baud } entries');
    return [];
  }
  const out: McuConfig[] = [];
  const names = new Map<string, number>();
  const ports = new Map<string, number>();
  v.forEach((m, i) => {
    const f = `mcus[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      c.bad(f, 'must be a mapping { name, port, baud }');
      return;
    }
    const o = m as Record<string, unknown>;
    c.keys(o, f, ['name', 'port', 'baud', 'board', 'memory', 'storage']);
    if (o.name === undefined)
      c.bad(`${f}.name`, 'is required (the MCU becomes the child device <host>/<name>)');
    if (o.port === undefined) c.bad(`${f}.port`, 'is required (the serial port, e.g. /dev/ttyACM0)');
    const name =
      o.name === undefined
        ? undefined
        : c.str(o.name, `${f}.name`, MCU_NAME, 'lowercase letters, digits and inner dashes, at most 63');
    const port =
      o.port === undefined
        ? undefined
        : c.str(o.port, `${f}.port`, PORT, 'an absolute device path such as /dev/ttyACM0, or COMn');
    let baud = 115200;
    if (o.baud !== undefined) {
      const b = c.num(o.baud, `${f}.baud`, 1, 10_000_000, true);
      if (b !== undefined && !BAUDS.includes(b))
        c.bad(`${f}.baud`, `${b} is not a serial speed (one of ${BAUDS.join(', ')})`);
      else if (b !== undefined) baud = b;
    }
    const board =
      o.board === undefined
        ? undefined
        : c.str(o.board, `${f}.board`, /^[A-Za-z0-9_./-]{1,64}$/, 'a Zephyr board name');
    const memory = o.memory === undefined ? undefined : c.quantity(o.memory, `${f}.memory`);
    const storage = o.storage === undefined ? undefined : c.quantity(o.storage, `${f}.storage`);
    if (name !== undefined) {
      const seen = names.get(name);
      if (seen !== undefined) c.bad(`${f}.name`, `"${name}" is already the name of mcus[${seen}]`);
      else names.set(name, i);
    }
    if (port !== undefined) {
      const seen = ports.get(port);
      if (seen !== undefined) c.bad(`${f}.port`, `${port} is already the port of mcus[${seen}]`);
      else ports.set(port, i);
    }
    if (name === undefined || port === undefined) return;
    out.push({
      name,
      port,
      baud,
      ...(board ? { board } : {}),
      ...(memory ? { memory } : {}),
      ...(storage ? { storage } : {}),
    });
  });
  return out;
}
