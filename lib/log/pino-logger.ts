import { createRequire } from 'node:module';
import type { DestinationStream, pino as Pino } from 'pino';
import { REDACT_CENSOR, REDACT_PATHS, type LevelWithSilent, type Logger } from './logger.js';

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where to write; default stderr (stdout is reserved for command output). */
  destination?: DestinationStream;
  name?: string;
}

/**
 * pino, required on the first call: importing lib/log (for the types, the line logger or the silent
 * logger) loads none of pino's ~20 files, which a long-running process keeps as source (issue 18).
 */
function loadPino(): typeof Pino {
  return (createRequire(import.meta.url)('pino') as { pino: typeof Pino }).pino;
}

/**
 * Creates the root logger (pino: the server and the CLI); components take `logger.child({ component:
 * '...' })`. Never patch console.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pino = loadPino();
  return pino(
    {
      name: options.name ?? 'outpost',
      level: options.level ?? 'info',
      redact: { paths: REDACT_PATHS, censor: REDACT_CENSOR },
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
