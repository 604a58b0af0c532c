import { MediaType } from '../../../lib/oci/index.js';
import { defineRuntime } from '../runtime.js';

/** `runtimes.helm` in agent.yaml. */
export interface HelmRuntimeConfig {
  enabled: boolean;
  binary: string;
  kubeconfig?: string;
  kubeContext?: string;
}

/** Media types of a Helm chart layer the agent may hand over as a local file. */
export const HELM_CHART_MEDIA_TYPES: readonly string[] = [
  MediaType.helmChart,
  MediaType.xTarGzip,
  MediaType.gzip,
];

const CHART_LAYERS: readonly string[] = [MediaType.helmChart, MediaType.tarGzip];

/**
 * Helm charts on a Kubernetes cluster the node reaches (ADR 0203): Margo `helm` profiles (and `helm.v3`,
 * the older name). The cluster restarts what it runs; limits are the chart's business.
 */
export const helmRuntime = defineRuntime<'helm', HelmRuntimeConfig>({
  kind: 'helm',
  description: 'Helm charts on a reachable Kubernetes cluster',
  profiles: [{ type: 'helm' }, { type: 'helm.v3' }],
  artifactName: 'a Helm chart',
  classify(m) {
    const layer = (m.layers ?? []).find((l) => CHART_LAYERS.includes(l.mediaType));
    return layer && (m.config?.mediaType === MediaType.helmConfig || m.artifactType === MediaType.helmConfig)
      ? { kind: 'helm', layer }
      : undefined;
  },
  config: {
    defaults: () => ({ enabled: true, binary: 'helm' }),
    keys: ['enabled', 'binary', 'kubeconfig', 'kubeContext'],
    parse(v, into, c, field) {
      if (v.enabled !== undefined) into.enabled = c.bool(v.enabled, `${field}.enabled`) ?? into.enabled;
      for (const k of ['binary', 'kubeconfig', 'kubeContext'] as const) {
        if (v[k] === undefined) continue;
        const s = c.str(v[k], `${field}.${k}`);
        if (s) into[k] = s;
      }
    },
  },
  capabilities: { deploymentTypes: ['helm'], runtimes: ['oci'] },
  // Requests and limits are values of the chart; the agent cannot set them for any chart.
  limits: { memory: false, cpus: false },
  supervises: true,
  async create(ctx, config) {
    const { HelmAdapter } = await import('./helm-adapter.js');
    return new HelmAdapter({
      stateDir: ctx.stateDir(),
      logger: ctx.logger,
      clock: ctx.clock,
      binary: config.binary,
      env: ctx.env,
      ...(config.kubeconfig ? { kubeconfig: config.kubeconfig } : {}),
      ...(config.kubeContext ? { kubeContext: config.kubeContext } : {}),
      ...(ctx.plainHttpRegistries.length ? { plainHttpRegistries: [...ctx.plainHttpRegistries] } : {}),
    });
  },
});
