import { OUTPOST_EXTENSION_KEY, type DeploymentType, type Extensions } from '../../lib/model/index.js';
import type { RuntimeKind } from './types.js';

export type RuntimeChoice = { kind: RuntimeKind } | { kind: undefined; reason: string };

/**
 * Which adapter runs a deployment profile (docs/architecture.md): Margo's own `compose` and `helm`, and
 * `custom` profiles whose `x-outpost-extensions.runtime` is `wasm` (or `container`/`oci` for a single
 * container). `ocre` is not a runtime adapter here (the Ocre/SMP part of the agent handles it).
 */
export function runtimeForProfile(profile: {
  type: DeploymentType | string;
  extensions?: Extensions;
}): RuntimeChoice {
  switch (profile.type) {
    case 'compose':
      return { kind: 'compose' };
    case 'helm':
    case 'helm.v3':
      return { kind: 'helm' };
    case 'custom': {
      const ext = profile.extensions?.[OUTPOST_EXTENSION_KEY] as { runtime?: unknown } | undefined;
      const runtime = ext?.runtime;
      if (runtime === 'wasm') return { kind: 'wasm' };
      if (runtime === 'container' || runtime === 'oci') return { kind: 'container' };
      if (runtime === 'ocre')
        return {
          kind: undefined,
          reason: 'ocre workloads run on a microcontroller, not through a runtime adapter',
        };
      return {
        kind: undefined,
        reason:
          runtime === undefined
            ? `a custom profile needs ${OUTPOST_EXTENSION_KEY}.runtime (wasm or container)`
            : `unknown ${OUTPOST_EXTENSION_KEY}.runtime ${JSON.stringify(runtime)}`,
      };
    }
    default:
      return { kind: undefined, reason: `deployment type ${JSON.stringify(profile.type)} is not supported` };
  }
}
