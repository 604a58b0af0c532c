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

/**
 * What is wrong with a deployment name as typed, in words (the server's rule: 1-63 lowercase letters,
 * digits and dashes, starting and ending with a letter or digit), with a name that would do; null when
 * it is fine or empty (the server then names it).
 */
export function deploymentNameProblem(name: string): string | null {
  const n = name.trim();
  if (!n || /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(n)) return null;
  const why: string[] = [];
  if (/\s/.test(n)) why.push('spaces');
  if (/[A-Z]/.test(n)) why.push('capital letters');
  const other = [...new Set(n.replace(/[a-zA-Z0-9\s-]/g, ''))];
  if (other.length) why.push(`the character${other.length === 1 ? '' : 's'} ${other.join(' ')}`);
  if (n.length > 63) why.push(`${n.length} characters (at most 63)`);
  if (/^-|-$/.test(n)) why.push('a dash at the start or end');
  const suggestion = n
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return (
    `Use only lowercase letters, digits and dashes, starting and ending with a letter or digit (this has ${why.join(', ')})` +
    (suggestion ? `, for example "${suggestion}".` : '.')
  );
}
