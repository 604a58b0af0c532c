/**
 * The early script (its own file, loaded by index.html before the console's scripts, built by
 * vite.config.ts): asks for the console's first answers at once (early-calls.ts, ADR 0234).
 */
import { startEarlyCalls, type EarlyWindow } from './early-calls.js';

startEarlyCalls(window as unknown as EarlyWindow);
// The first date a page formats for people (toLocaleString, the Dashboard's "since" on hover) makes the
// browser load its locale data: 25 ms in a fresh page. Done now, while the console's scripts are still
// on their way, instead of in the first render.
setTimeout(() => new Date(0).toLocaleString(), 0);
