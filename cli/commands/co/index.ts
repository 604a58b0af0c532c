import type { Command } from 'commander';
import { register as status } from './status.js';
import { register as addApp } from './add-app.js';
import { register as addDeviceModel } from './add-device-model.js';
import { register as addSite } from './add-site.js';
import { register as addOrchestrator } from './add-orchestrator.js';
import { register as addNode } from './add-node.js';
import { register as addTenant } from './add-tenant.js';
import { register as addToken } from './add-token.js';
import { register as listApps } from './list-apps.js';
import { register as listDeviceModels } from './list-device-models.js';
import { register as listSites } from './list-sites.js';
import { register as listOrchestrators } from './list-orchestrators.js';
import { register as listNodes } from './list-nodes.js';
import { register as listTenants } from './list-tenants.js';
import { register as listTokens } from './list-tokens.js';
import { register as listDeployments } from './list-deployments.js';
import { register as listRequests } from './list-requests.js';
import { register as listDiscovered } from './list-discovered.js';
import { register as showApp } from './show-app.js';
import { register as showDeviceModel } from './show-device-model.js';
import { register as showSite } from './show-site.js';
import { register as showNode } from './show-node.js';
import { register as showDeployment } from './show-deployment.js';
import { register as removeApp } from './remove-app.js';
import { register as removeDeviceModel } from './remove-device-model.js';
import { register as removeSite } from './remove-site.js';
import { register as removeNode } from './remove-node.js';
import { register as removeToken } from './remove-token.js';
import { register as removeDeployment } from './remove-deployment.js';
import { register as labelNode } from './label-node.js';
import { register as cordonNode } from './cordon-node.js';
import { register as uncordonNode } from './uncordon-node.js';
import { register as setNodeModel } from './set-node-model.js';
import { register as setSite } from './set-site.js';
import { register as deploy } from './deploy.js';
import { register as updateDeployment } from './update-deployment.js';
import { register as place } from './place.js';
import { register as promoteDeployment } from './promote-deployment.js';
import { register as pauseDeployment } from './pause-deployment.js';
import { register as resumeDeployment } from './resume-deployment.js';
import { register as retryDeployment } from './retry-deployment.js';
import { register as createEnrollToken } from './create-enroll-token.js';
import { register as revokeNode } from './revoke-node.js';
import { register as approveRequest } from './approve-request.js';
import { register as rejectRequest } from './reject-request.js';
import { register as linkSite } from './link-site.js';
import { register as siteLinks } from './site-links.js';

/**
 * `edgectl co ...`: talk to the control plane (CO/LO) through its console API. This file only makes the
 * verb groups and registers the commands, one per file (`<verb>-<noun>.ts`); what they share is in
 * `shared.ts`. The order below is the order `--help` lists them in.
 */
export function head(program: Command): Command {
  return program
    .command('co')
    .description('operate the control plane: apps, device models, sites, nodes, deployments')
    .option('--server <url>', 'console API URL (default: from <home>/run/server.json)')
    .option('--token <token>', 'API token (default: from server.json, or EDGE_TOKEN)')
    .option('--tenant <id>', 'act on this tenant (administrators only)');
}

export function register(program: Command): void {
  const co = head(program);
  status(co);

  const add = co
    .command('add')
    .description('add an app, device model, site, node, orchestrator, tenant or token');
  addApp(add);
  addDeviceModel(add);
  addSite(add);
  addOrchestrator(add);
  addNode(add);
  addTenant(add);
  addToken(add);

  const list = co
    .command('list')
    .description('list apps, device models, sites, orchestrators, nodes, tenants or tokens');
  listApps(list);
  listDeviceModels(list);
  listSites(list);
  listOrchestrators(list);
  listNodes(list);
  listRequests(list);
  listDiscovered(list);
  listTenants(list);
  listTokens(list);
  listDeployments(list);

  const show = co.command('show').description('show one app, device model, site or node');
  showApp(show);
  showDeviceModel(show);
  showSite(show);
  showNode(show);
  showDeployment(show);

  const remove = co
    .command('remove')
    .description('remove an app (version), device model, site, node or token');
  removeApp(remove);
  removeDeviceModel(remove);
  removeSite(remove);
  removeNode(remove);
  removeToken(remove);
  removeDeployment(remove);

  labelNode(co);
  cordonNode(co);
  uncordonNode(co);
  setNodeModel(co);
  setSite(co);

  deploy(co);
  updateDeployment(co.command('update').description('update a deployment'));
  place(co);
  promoteDeployment(co);
  pauseDeployment(co);
  resumeDeployment(co);
  retryDeployment(co);

  createEnrollToken(co.command('enroll-token').description('one-time enrollment tokens for nodes'));
  revokeNode(co.command('revoke').description('revoke access'));
  approveRequest(co);
  rejectRequest(co);
  linkSite(co);
  siteLinks(co);
}
