import { OutpostError } from '../../lib/errors/index.js';
import { BUNDLE_ERROR_STATUS } from '../../lib/bundle/index.js';

/**
 * The control plane's bundle refusals, besides the format layer's (`lib/bundle`): what a verified bundle
 * asks that this server cannot do without breaking its state. Each is one line naming the reason.
 */
export const PLANE_ERROR_STATUS = {
  /** The bundle's git range would move the desired state back or sideways (not a fast-forward). */
  'bundle/rollback': 422,
  /** The bundle builds on a commit this site does not have (an HQ bundle it never imported). */
  'bundle/missing-base': 422,
  /** A verified blob is not what its role says (a manifest that is not one, a broken git pack, bad status). */
  'bundle/invalid-content': 422,
  /** `--drive auto` found no removable drive, or more than one. */
  'bundle/no-drive': 409,
  /** This server cannot take what the bundle carries (artifacts without a site registry, a site it does not know). */
  'bundle/not-applicable': 409,
} as const satisfies Record<string, number>;

export type BundleCode = keyof typeof BUNDLE_ERROR_STATUS | keyof typeof PLANE_ERROR_STATUS;

export function bundleError(
  code: BundleCode,
  message: string,
  data?: unknown,
  cause?: unknown,
): OutpostError {
  const status =
    (PLANE_ERROR_STATUS as Record<string, number>)[code] ??
    (BUNDLE_ERROR_STATUS as Record<string, number>)[code] ??
    500;
  return new OutpostError(code, message, { status, data, cause });
}
