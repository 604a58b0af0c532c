/**
 * The console contract: every service the CO/LO offers to consoles and the CLI.
 * Imported by the core (to implement it), the binders (to serve it) and the renderer and CLI (to call it).
 */
import { systemService } from './services/system.js';

export const contract = {
  system: systemService,
};
export type Contract = typeof contract;

export { events, type Events } from './events.js';
export * from './define.js';
export * from './services/system.js';
