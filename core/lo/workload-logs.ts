import type { Config } from '../config.js';
import type { CoreModule } from '../module.js';
import type { Fleet } from '../fleet/module.js';
import type { Messaging } from '../messaging/module.js';
import { OutpostError } from '../../lib/errors/index.js';

/**
 * `nodes.workloadLogs` (ADR 0016): a deployment's workload output on one node, asked of the node's agent
 * over the site bus, for the sites this server serves as their LO. The agent reads it where its runtimes
 * keep it (agents/node/workload-logs.ts) and answers with the last lines of each component; nothing is
 * stored here. A node that is not connected to the bus cannot be asked: `node/unreachable`.
 */
export function createWorkloadLogsModule(deps: {
  config: Config;
  fleet: Fleet;
  messaging: Messaging;
  timeoutMs?: number;
}): CoreModule {
  const { config, fleet, messaging } = deps;
  return {
    name: 'workload-logs',
    handlers: {
      nodes: {
        workloadLogs: async (input, ctx) => {
          const node = fleet.nodeByName(ctx.tenantId, input.name);
          if (!node)
            throw new OutpostError('not-found', `node ${input.name} not found`, {
              data: { node: input.name },
            });
          if (config.role === 'co' || fleet.remoteSites(ctx.tenantId).includes(node.siteId))
            throw new OutpostError(
              'unavailable',
              `site ${node.siteId} is served by a remote LO: its workload output is shown by that LO's console (or edgectl agent logs on the node)`,
              { data: { site: node.siteId } },
            );
          const reply = await messaging
            .requestNodeLogs(
              node.siteId,
              node.uid,
              {
                deploymentId: input.deploymentId,
                ...(input.component ? { component: input.component } : {}),
                tail: input.tail,
              },
              deps.timeoutMs,
            )
            .catch((err: unknown) => {
              // Named as the operator knows the node, not by its uid on the bus.
              if (err instanceof OutpostError && err.code === 'node/unreachable')
                throw new OutpostError(err.code, err.message.replace(node.uid, node.name), {
                  status: err.status,
                  data: { node: node.name },
                });
              throw err;
            });
          if (!reply.ok)
            throw new OutpostError(reply.error.code, `node ${node.name}: ${reply.error.message}`, {
              data: { node: node.name, deploymentId: input.deploymentId },
            });
          return {
            node: node.name,
            deploymentId: input.deploymentId,
            at: reply.at,
            components: reply.components,
          };
        },
      },
    },
  };
}
