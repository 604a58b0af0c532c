import { OutpostError } from '../errors/index.js';
import { Group, Op } from './header.js';
import type { SmpRequester } from './requester.js';

/** OS management group (0): echo, reset, MCUmgr parameters, OS/application info, date and time. */
export const OsCommand = { echo: 0, datetime: 4, reset: 5, params: 6, info: 7 } as const;

export interface McumgrParams {
  /** Size of the device's receive buffer (MCUMGR_TRANSPORT_NETBUF_SIZE): a packet is at most this minus 4. */
  bufSize: number;
  bufCount: number;
}

export interface OsCommands {
  echo(text: string, signal?: AbortSignal): Promise<string>;
  /** Asks the device to reboot (it answers first, then resets after ~250 ms). Never retried. */
  reset(options?: { force?: boolean }): Promise<void>;
  params(): Promise<McumgrParams>;
  /** uname-like letters: s kernel, n node, r release, v version, b build time, m machine, p processor, i board, o OS, a all. */
  info(format?: string): Promise<string>;
  datetime(): Promise<string>;
  setDatetime(value: string): Promise<void>;
}

export function osCommands(c: SmpRequester): OsCommands {
  return {
    async echo(text, signal) {
      const a = await c.request(
        Op.write,
        Group.os,
        OsCommand.echo,
        { d: text },
        { what: 'echo', retryable: true, signal },
      );
      return str(a.r, 'echo answer r');
    },
    async reset(options = {}) {
      await c.request(Op.write, Group.os, OsCommand.reset, options.force ? { force: true } : {}, {
        what: 'reset',
      });
    },
    async params() {
      const a = await c.request(
        Op.read,
        Group.os,
        OsCommand.params,
        {},
        { what: 'mcumgr parameters', retryable: true },
      );
      return { bufSize: uint(a.buf_size, 'buf_size'), bufCount: uint(a.buf_count, 'buf_count') };
    },
    async info(format = 's') {
      const a = await c.request(
        Op.read,
        Group.os,
        OsCommand.info,
        { format },
        { what: `os info "${format}"`, retryable: true },
      );
      return str(a.output, 'os info output');
    },
    async datetime() {
      const a = await c.request(
        Op.read,
        Group.os,
        OsCommand.datetime,
        {},
        { what: 'datetime', retryable: true },
      );
      return str(a.datetime, 'datetime');
    },
    async setDatetime(value) {
      await c.request(
        Op.write,
        Group.os,
        OsCommand.datetime,
        { datetime: value },
        { what: 'set datetime', retryable: true },
      );
    },
  };
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new OutpostError('smp/bad-response', `the device's answer has no ${what}`);
  return v;
}

export function uint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new OutpostError('smp/bad-response', `the device's answer has no valid ${what}`);
  return v;
}

export function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array))
    throw new OutpostError('smp/bad-response', `the device's answer has no ${what} bytes`);
  return v;
}
