/**
 * The NATS bus as both sides see it (environment: node): the subject namespace (ADR 0160), NKEY users
 * (ADR 0161) and the agent's side of the bus (poll-now notices, status and presence publishing). The
 * server side (nats-server supervision, streams, credentials) is core/messaging.
 */
export * from './subjects.js';
export * from './nkeys.js';
export * from './agent-bus.js';
