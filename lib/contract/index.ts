/**
 * The console contract: every service the CO/LO offers to consoles and the CLI.
 * Imported by the core (to implement it), the binders (to serve it) and the renderer and CLI (to call it).
 */
import { systemService } from './services/system.js';
import { tenantsService } from './services/tenants.js';
import { appsService } from './services/apps.js';
import { deviceModelsService } from './services/device-models.js';
import { sitesService } from './services/sites.js';
import { nodesService } from './services/nodes.js';
import { deploymentsService } from './services/deployments.js';
import { identityService } from './services/identity.js';
import { messagingService } from './services/messaging.js';
import { bundleService } from './services/bundle.js';
import { registryService } from './services/registry.js';
import { discoveryService, enrollRequestsService } from './services/enroll-requests.js';
import { healthService } from './services/health.js';

export const contract = {
  system: systemService,
  tenants: tenantsService,
  apps: appsService,
  deviceModels: deviceModelsService,
  sites: sitesService,
  nodes: nodesService,
  messaging: messagingService,
  deployments: deploymentsService,
  identity: identityService,
  bundle: bundleService,
  enrollRequests: enrollRequestsService,
  discovery: discoveryService,
  registry: registryService,
  health: healthService,
};
export type Contract = typeof contract;

export {
  events,
  TOPICS,
  topicSchema,
  isTopic,
  type Events,
  type Topic,
  type ChangedEvent,
} from './events.js';
export * from './define.js';
export * from './roles.js';
export * from './access.js';
export * from './services/system.js';
export * from './services/common.js';
export * from './services/tenants.js';
export * from './services/apps.js';
export * from './services/device-models.js';
export * from './services/sites.js';
export * from './services/nodes.js';
export * from './services/deployments.js';
export * from './services/identity.js';
export * from './services/messaging.js';
export * from './services/bundle.js';
export { COMMAND_CHANNELS } from './command-channels.js';
export { createClient, createChannelClient, type ClientTransport, type EventHandler } from './client.js';
export {
  createHttpTransport,
  isServerAnswer,
  readSse,
  RPC_PREFIX,
  EVENTS_PATH,
  EVENTS_TICKET_PATH,
  TENANT_HEADER,
  IDEMPOTENCY_HEADER,
  CLIENT_HEADER,
  type HttpTransportOptions,
} from './http-transport.js';
export {
  createIpcTransport,
  IPC_INVOKE,
  IPC_EVENT,
  IPC_SESSION,
  type OutpostBridge,
  type SessionRequest,
  type IpcResult,
} from './ipc-transport.js';
export {
  formatAge,
  formatAgeWords,
  formatBytes,
  formatSeconds,
  describeSiteReach,
  describeAsOf,
  describeCarried,
} from './format.js';
export * from './parameter-rules.js';
export * from './services/registry.js';
export * from './services/enroll-requests.js';
export * from './services/health.js';
