/**
 * Process basics shared by the server, the agent and the CLI (environment: node; no dependencies, so a
 * runtime or the WASM runner can take the clock without the logger): the clock, the single-instance lock of a home folder, the home folder layout, and where the project's
 * resources are. Test helpers (temporary folders, waiting for a condition) are in ./testing.ts.
 */
export * from './clock.js';
export * from './code-cache.js';
export * from './pid-lock.js';
export * from './paths.js';
export * from './resources.js';
