import type { CoreModule } from '../module.js';
import type { Logger } from '../../lib/log/index.js';
import type { DeployEngine } from './engine.js';
import type { DeploymentSummary, DeploymentView } from '../../lib/contract/index.js';

/** A remote LO's own answer to list/get (it keeps no deployment records of its own, ADR 0170). */
export interface LocalDeploymentView {
  list(tenantId: string, includeRemoved: boolean): { deployments: DeploymentSummary[]; now: number };
  get(tenantId: string, id: string): DeploymentView;
}

/** The deployments service over the engine, plus its background work (repair at start, rollout timers). */
export function createDeployModule(deps: {
  engine: DeployEngine;
  logger: Logger;
  tickMs?: number;
  /** Role lo: what the site serves and its nodes report, instead of the (empty) deployment records. */
  local?: LocalDeploymentView;
}): CoreModule {
  const local = deps.local;
  const { engine } = deps;
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'deploy',
    counts: (tenantId) => ({ deployments: engine.countActive(tenantId) }),
    async start() {
      await engine.repair();
      timer = setInterval(
        () => void engine.tick().catch((err: unknown) => deps.logger.error({ err }, 'rollout timer failed')),
        deps.tickMs ?? 2000,
      );
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await engine.settle();
    },
    handlers: {
      deployments: {
        place: async (input, ctx) => engine.place(input, ctx),
        create: async (input, ctx) => engine.create(input, ctx),
        list: async (input, ctx) =>
          local ? local.list(ctx.tenantId, input.includeRemoved) : engine.list(input, ctx),
        get: async (input, ctx) =>
          local ? local.get(ctx.tenantId, input.id) : engine.view(ctx.tenantId, input.id),
        update: async (input, ctx) => engine.update(input, ctx),
        remove: async (input, ctx) => engine.remove(input, ctx),
        promote: async (input, ctx) => engine.signal(input, ctx, 'promote'),
        pause: async (input, ctx) => engine.signal(input, ctx, 'pause'),
        resume: async (input, ctx) => engine.signal(input, ctx, 'resume'),
        retry: async (input, ctx) => engine.retry(input, ctx),
      },
      nodes: {
        fit: async (input, ctx) => ({ fits: engine.fitNode(input, ctx) }),
      },
    },
  };
}
