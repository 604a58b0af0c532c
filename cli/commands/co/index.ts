import type { Command } from 'commander';
import { register as status } from './status.js';
import { register as addApp } from './add-app.js';
import { register as listApps } from './list-apps.js';
import { register as showApp } from './show-app.js';
import { register as removeApp } from './remove-app.js';
import * as deviceModels from './device-models.js';
import * as sites from './sites.js';
import * as nodes from './nodes.js';
import * as tenants from './tenants.js';
import { register as deploy } from './deploy.js';
import * as deployments from './deployments.js';
import { register as enroll } from './enroll.js';
import { register as linkSite } from './link-site.js';
import { register as siteLinks } from './site-links.js';
import * as enrollRequests from './enroll-requests.js';
import { register as discovered } from './discovered.js';

/** `edgectl co ...`: talk to the control plane (CO/LO) through its console API. */
export function register(program: Command): void {
  const co = program
    .command('co')
    .description('operate the control plane: apps, device models, sites, nodes, deployments')
    .option('--server <url>', 'console API URL (default: from <home>/run/server.json)')
    .option('--token <token>', 'API token (default: from server.json, or EDGE_TOKEN)')
    .option('--tenant <id>', 'act on this tenant (administrators only)');
  status(co);

  const add = co
    .command('add')
    .description('add an app, device model, site, node, orchestrator, tenant or token');
  addApp(add);
  deviceModels.registerAdd(add);
  sites.registerAdd(add);
  nodes.registerAdd(add);
  tenants.registerAdd(add);

  const list = co
    .command('list')
    .description('list apps, device models, sites, orchestrators, nodes, tenants or tokens');
  listApps(list);
  deviceModels.registerList(list);
  sites.registerList(list);
  sites.registerListOrchestrators(list);
  nodes.registerList(list);
  enrollRequests.registerList(list);
  discovered(list);
  tenants.registerList(list);

  const show = co.command('show').description('show one app, device model, site or node');
  showApp(show);
  deviceModels.registerShow(show);
  sites.registerShow(show);
  nodes.registerShow(show);

  const remove = co
    .command('remove')
    .description('remove an app (version), device model, site, node or token');
  removeApp(remove);
  deviceModels.registerRemove(remove);
  sites.registerRemove(remove);
  nodes.registerRemove(remove);
  tenants.registerRemove(remove);

  nodes.registerVerbs(co);
  sites.registerSet(co);

  deploy(co);
  deployments.registerList(list);
  deployments.registerShow(show);
  deployments.registerUpdate(co);
  deployments.registerRemove(remove);
  deployments.registerPlace(co);
  deployments.registerSignals(co);
  enroll(co);
  enrollRequests.registerApprove(co);
  enrollRequests.registerReject(co);
  linkSite(co);
  siteLinks(co);
}
