/**
 * The pino logger (environment: node), apart from lib/base so code that only needs the clock does not
 * load pino. Components take a `Logger` and make children of it; nothing logs through a global.
 */
import { pino, type Logger, type LevelWithSilent, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where to write; default stderr (stdout is reserved for command output). */
  destination?: DestinationStream;
  name?: string;
}

/** Creates the root logger; components take `logger.child({ component: '...' })`. Never patch console. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'outpost',
      level: options.level ?? 'info',
      redact: {
        paths: [
          'token',
          '*.token',
          'password',
          '*.password',
          'authorization',
          '*.authorization',
          'headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}

/** A logger that drops everything (tests, quiet CLI paths). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
