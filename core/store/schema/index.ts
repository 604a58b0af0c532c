// One public entry for the schema. Each module keeps its tables in its own file here.
export * from './system.js';
export * from './fleet.js';
export * from './catalog.js';
export * from './deployments.js';
export * from './lo.js';
export * from './bundles.js';
export * from './metrics.js';
