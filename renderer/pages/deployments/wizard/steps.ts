import { OutpostError } from '../../../../lib/errors/index.js';
import { isParameterProblem } from '../parameters.js';

export const STEPS = [
  'Application',
  'Version and profile',
  'Parameters',
  'Target',
  'Placement preview',
  'Confirm',
] as const;
export const [APP, VERSION, PARAMETERS, TARGET, PREVIEW, CONFIRM] = [0, 1, 2, 3, 4, 5] as const;

/** Where a refusal of `deployments.create` belongs: the step whose input the server turned down. */
export function stepOf(err: unknown): number {
  const e = OutpostError.from(err);
  if (e.code === 'not-placeable') return PREVIEW;
  const fields = e.errors ?? [];
  if (fields.some(isParameterProblem)) return PARAMETERS;
  if (fields.some((f) => /^target/.test(f.field))) return TARGET;
  if (fields.some((f) => /^(version|profileId)/.test(f.field))) return VERSION;
  return CONFIRM;
}
