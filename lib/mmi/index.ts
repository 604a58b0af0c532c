/**
 * The Margo Management Interface on the wire (environment: common): the route table and paths, the
 * enrollment and renewal bodies of our extension endpoints, and the registered Margo problem types. The
 * server (core/mmi) and the agent (agents/) both speak it; neither imports the other.
 */
export * from './routes.js';
export * from './wire.js';
