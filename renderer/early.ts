/**
 * The early script (its own file, loaded by index.html before the console's scripts, built by
 * vite.config.ts): asks for the console's first answers at once (early-calls.ts, ADR 0234).
 */
import { startEarlyCalls, type EarlyWindow } from './early-calls.js';

startEarlyCalls(window as unknown as EarlyWindow);
