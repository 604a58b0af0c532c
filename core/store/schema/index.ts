// One public entry for the schema. Each module keeps its tables in its own file here.
export * from './system.js';
