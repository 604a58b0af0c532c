/** A log call: a message, or fields and a message (pino's call shapes, which every logger here takes). */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export type LevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
export type LevelWithSilent = LevelName | 'silent';

/**
 * What components log through and make children of: pino's logger (createLogger) or the line logger
 * (createLineLogger); both write the same JSON lines.
 */
export interface Logger {
  level: string;
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: string): boolean;
  flush(cb?: (err?: Error) => void): void;
}

/** pino's level numbers, written as `level` in every line. */
export const LEVEL_VALUES: Readonly<Record<LevelWithSilent, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/** Fields never written as they are (`*.x`: `x` of any top-level field's object). */
export const REDACT_PATHS = [
  'token',
  '*.token',
  'password',
  '*.password',
  'authorization',
  '*.authorization',
  'headers.authorization',
];
export const REDACT_CENSOR = '[redacted]';
