import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import type { SmpClient } from '../../../lib/smp/index.js';
import { parseFormat, type OutputFormat } from '../../lib/output.js';

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
