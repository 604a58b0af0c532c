/**
 * Logging (environment: node), apart from lib/base so code that only needs the clock does not load a
 * logger. Components take a `Logger` and make children of it; nothing logs through a global. Two loggers
 * write the same JSON lines: pino (createLogger: the server, the CLI) and a small line writer
 * (createLineLogger: the edge agent, whose memory is counted, ADR 0546).
 */
export * from './logger.js';
export * from './pino-logger.js';
export * from './line-logger.js';
