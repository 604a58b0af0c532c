import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLineLogger, createLogger, silentLogger, type Logger } from './index.js';

/** The same calls through pino (createLogger) and the line logger, each line parsed, `time` apart. */
function both(level: 'info' | 'debug' | 'warn', calls: (l: Logger) => void) {
  const pinoLines: string[] = [];
  const pinoLogger = createLogger({
    level,
    name: 'outpost-agent',
    destination: new Writable({
      write(chunk: Buffer, _enc, cb) {
        pinoLines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    }),
  });
  const lines: string[] = [];
  const lineLogger = createLineLogger({ level, name: 'outpost-agent', write: (l) => lines.push(l) });
  calls(pinoLogger);
  calls(lineLogger);
  const strip = (l: string) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    expect(typeof o.time).toBe('number');
    delete o.time;
    return o;
  };
  for (const l of lines) expect(l.endsWith('\n') && !l.slice(0, -1).includes('\n')).toBe(true);
  return { pino: pinoLines.map(strip), line: lines.map(strip), raw: lines };
}

describe('createLineLogger', () => {
  it('writes the JSON lines pino writes: levels, name, pid, hostname, bindings, fields, message', () => {
    const r = both('info', (l) => {
      l.info('plain');
      const c = l.child({ component: 'poller' }).child({ deploymentId: 'd1' });
      c.warn({ attempt: 2, nested: { a: [1, 'x'] } }, 'retrying');
      c.error({ n: 1 });
      l.debug('not written at info');
      l.trace({ x: 1 }, 'neither');
      l.fatal({ code: 'x' }, 'fatal');
    });
    expect(r.line).toEqual(r.pino);
    expect(r.line.map((o) => o.level)).toEqual([30, 40, 50, 60]);
    expect(r.line[1]).toMatchObject({ name: 'outpost-agent', component: 'poller', deploymentId: 'd1' });
    // Bindings before the call's fields, the message last (pino's order).
    expect(Object.keys(JSON.parse(r.raw[1]!) as object)).toEqual([
      'level',
      'time',
      'pid',
      'hostname',
      'name',
      'component',
      'deploymentId',
      'attempt',
      'nested',
      'msg',
    ]);
  });

  it('redacts what pino redacts, in fields and bindings, without changing the caller objects', () => {
    const fields = {
      token: 't0k',
      registry: { host: 'r', password: 'pw', token: 'x' },
      headers: { authorization: 'Bearer a', accept: '*/*' },
      list: ['token'],
    };
    const r = both('info', (l) => {
      l.info(fields, 'secrets');
      l.child({ authorization: 'Basic b', peer: { token: 'p' } }).info('bound');
    });
    expect(r.line).toEqual(r.pino);
    expect(r.line[0]).toMatchObject({
      token: '[redacted]',
      registry: { host: 'r', password: '[redacted]', token: '[redacted]' },
      headers: { authorization: '[redacted]', accept: '*/*' },
    });
    expect(r.line[1]).toMatchObject({ authorization: '[redacted]', peer: { token: '[redacted]' } });
    expect(fields.registry.password).toBe('pw');
    expect(fields.headers.authorization).toBe('Bearer a');
  });

  it('serializes errors under err as pino does (type, message, stack, own fields), and an error logged alone', () => {
    const e = Object.assign(new TypeError('bad thing'), { code: 'E_BAD' });
    const r = both('info', (l) => {
      l.warn({ err: e, container: 'c1' }, 'failed');
      l.error(new RangeError('out of range'));
      l.info({ err: 'just a message' }, 'string err');
    });
    expect(r.line[0]).toMatchObject({
      err: { type: 'TypeError', message: 'bad thing', code: 'E_BAD' },
      container: 'c1',
      msg: 'failed',
    });
    expect((r.line[0]!.err as { stack: string }).stack).toContain('bad thing');
    expect(r.line[0]).toEqual(r.pino[0]);
    expect(r.line[1]).toMatchObject({ level: 50, err: { type: 'RangeError', message: 'out of range' } });
    expect(r.line[1]!.msg).toBe('out of range');
    expect(r.line[2]).toEqual(r.pino[2]);
  });

  it('follows its level: set, checked, per child; silent writes nothing', () => {
    const lines: string[] = [];
    const l = createLineLogger({ level: 'warn', write: (x) => lines.push(x) });
    expect(l.level).toBe('warn');
    expect(l.isLevelEnabled('info')).toBe(false);
    expect(l.isLevelEnabled('error')).toBe(true);
    l.info('dropped');
    l.level = 'debug';
    expect(l.isLevelEnabled('debug')).toBe(true);
    const c = l.child({ component: 'x' });
    l.level = 'silent';
    l.error('dropped');
    c.debug('kept by the child, created at debug');
    expect(lines.map((x) => (JSON.parse(x) as { msg: string }).msg)).toEqual([
      'kept by the child, created at debug',
    ]);
    expect(() => (l.level = 'loud')).toThrow(/unknown log level/);
    const s = silentLogger();
    s.fatal('nothing');
    expect(s.isLevelEnabled('fatal')).toBe(false);
  });

  it('never throws on what JSON cannot hold: a cycle, a bigint', () => {
    const lines: string[] = [];
    const l = createLineLogger({ write: (x) => lines.push(x) });
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    l.info({ a, big: 10n }, 'odd values');
    expect(JSON.parse(lines[0]!)).toMatchObject({ a: { name: 'a', self: '[Circular]' }, big: '10' });
  });

  it('flush calls back (every line is already written)', async () => {
    const l = createLineLogger({ write: () => undefined });
    await new Promise<void>((resolve) => l.flush(() => resolve()));
  });
});
