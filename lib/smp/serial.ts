import { OutpostError } from '../errors/index.js';
import { SmpClient, type SmpClientOptions } from './client.js';

export interface OpenSerialOptions extends Omit<SmpClientOptions, 'ownsPort' | 'closePort'> {
  path: string;
  /** Serial line speed. Default 115200. */
  baudRate?: number;
}

/**
 * Opens a serial port (serialport, loaded on first use so importing this module costs nothing) and
 * returns a client that owns it. The port is locked for exclusive use, so a second program on the
 * same port gets `smp/port-busy` instead of interleaved bytes.
 */
export async function openSerialSmp(options: OpenSerialOptions): Promise<SmpClient> {
  const { SerialPort } = await import('serialport');
  const baudRate = options.baudRate ?? 115200;
  if (!Number.isInteger(baudRate) || baudRate <= 0)
    throw new OutpostError(
      'invalid-input',
      `baud rate "${options.baudRate}" must be a positive whole number`,
    );
  const port = new SerialPort({ path: options.path, baudRate, autoOpen: false, lock: true });
  await new Promise<void>((resolve, reject) =>
    port.open((err) => (err ? reject(portError(options.path, err)) : resolve())),
  );
  return new SmpClient(port, {
    ...options,
    baudRate,
    ownsPort: true,
    closePort: () =>
      new Promise<void>((resolve) => {
        if (!port.isOpen) return resolve();
        port.close(() => resolve());
      }),
  });
}

/** One clear error for the ways opening a port fails. */
export function portError(path: string, err: Error): OutpostError {
  const m = err.message;
  if (/Cannot lock port|Resource temporarily unavailable|EBUSY|Device or resource busy/i.test(m))
    return new OutpostError(
      'smp/port-busy',
      `${path} is busy: another program has it open (close it, or its terminal)`,
      {
        cause: err,
      },
    );
  if (/ENOENT|No such file or directory|File not found|cannot find the file/i.test(m))
    return new OutpostError(
      'smp/port-not-found',
      `${path}: no such serial port (is the device plugged in?)`,
      { cause: err },
    );
  if (/EACCES|Permission denied|Access denied/i.test(m))
    return new OutpostError(
      'smp/port-denied',
      `${path}: permission denied (is your user in the dialout group?)`,
      {
        cause: err,
      },
    );
  return new OutpostError(
    'smp/port-error',
    `${path}: cannot open the serial port: ${m.replace(/^Error:?\s*/, '')}`,
    {
      cause: err,
    },
  );
}
