/** What the `edgectl smp` commands share (one file per command beside it): the port options, opening
 * the device, transfer progress and Ctrl-C, image hashes and tables. */
import type { Command } from 'commander';
import { OutpostError, isOutpostError } from '../../../lib/errors/index.js';
import type { ImageSlot, SmpClient } from '../../../lib/smp/index.js';
import { reportError } from '../../lib/action.js';
import { parseFormat, table, type OutputFormat } from '../../lib/output.js';

export interface SmpFlags {
  port?: string;
  baud?: string;
  timeout?: string;
  output?: string;
}

/** The options every `edgectl smp` command takes. */
export function addPortOptions(cmd: Command, output = true): Command {
  cmd
    .option('-p, --port <path>', 'serial port of the device, e.g. /dev/ttyACM0 (default: $EDGE_SMP_PORT)')
    .option('--baud <rate>', 'line speed in baud', '115200')
    .option('--timeout <seconds>', 'wait this long for each answer', '5');
  if (output) cmd.option('-o, --output <format>', 'table, json or yaml');
  return cmd;
}

export interface SmpSettings {
  port: string;
  baudRate: number;
  timeoutMs: number;
  format: OutputFormat;
}

export function settings(flags: SmpFlags, env = process.env): SmpSettings {
  const port = flags.port ?? env.EDGE_SMP_PORT;
  if (!port) throw new OutpostError('invalid-input', 'which device? give --port PATH (or set EDGE_SMP_PORT)');
  const baudRate = Number(flags.baud ?? '115200');
  if (!Number.isInteger(baudRate) || baudRate <= 0)
    throw new OutpostError(
      'invalid-input',
      `--baud "${flags.baud}" must be a positive whole number, e.g. 115200`,
    );
  const seconds = Number(flags.timeout ?? '5');
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600)
    throw new OutpostError(
      'invalid-input',
      `--timeout "${flags.timeout}" must be a number of seconds between 0 and 3600`,
    );
  return { port, baudRate, timeoutMs: Math.round(seconds * 1000), format: parseFormat(flags.output) };
}

/**
 * Opens the port (serialport is loaded only now, so `edgectl --help` stays fast), runs `fn` with
 * a client and an abort signal that Ctrl-C fires, and always closes the port.
 */
export async function withSmp<T>(
  s: SmpSettings,
  fn: (client: SmpClient, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { openSerialSmp } = await import('../../../lib/smp/index.js');
  const client = await openSerialSmp({ path: s.port, baudRate: s.baudRate, timeoutMs: s.timeoutMs });
  const ac = new AbortController();
  const onSigint = () => ac.abort();
  process.on('SIGINT', onSigint);
  try {
    return await fn(client, ac.signal);
  } finally {
    process.off('SIGINT', onSigint);
    await client.close();
  }
}

/** A 32-byte image hash written as 64 hex digits. */
export function parseHash(text: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new OutpostError(
      'invalid-input',
      `"${text}" is not an image hash (64 hex digits, see edgectl smp image list)`,
    );
  return Buffer.from(text, 'hex');
}

/**
 * Progress on stderr for transfers to and from a device (small files: always shown). cli-progress
 * is loaded here, not when edgectl starts.
 */
export async function transferProgress(name: string) {
  const { createProgress } = await import('../../lib/progress.js');
  const progress = createProgress({ minBytes: 0 });
  return {
    update: (p: { done: number; total: number }) => progress.update(name, p.done, p.total),
    finish: () => progress.finish(name),
    stop: () => progress.stop(),
  };
}

/** Ctrl-C: one line saying what happened and how to go on, exit 130. */
export function reportCancelled(err: unknown, message: string, debug: boolean): boolean {
  if (!isOutpostError(err, 'cancelled')) return false;
  reportError(new OutpostError('cancelled', message), debug);
  process.exitCode = 130;
  return true;
}

/** The image slots as `smp image list|test|confirm` show them. */
export function imageTable(slots: ImageSlot[]): string {
  return table(
    ['IMAGE', 'SLOT', 'VERSION', 'FLAGS', 'HASH'],
    slots.map((i) => [
      i.image,
      i.slot,
      i.version,
      (['active', 'confirmed', 'pending', 'permanent'] as const).filter((f) => i[f]).join(',') || '-',
      i.hash,
    ]),
  );
}
