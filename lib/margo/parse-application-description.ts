import { ProblemList, Reader, type ApplicationDescription, type MargoProblem } from '../model/index.js';
import { readApplicationDescription } from './read-application-description.js';
import { loadYaml, throwProblems } from './yaml-source.js';

export interface ParseApplicationDescriptionOptions {
  /** File name for messages and FieldProblem.file (e.g. `margo.yaml`). */
  file?: string;
  /** Largest accepted input; default 1 MiB. Larger input fails with `payload-too-large` (413) before parsing. */
  maxBytes?: number;
}

export interface ParsedApplicationDescription {
  description: ApplicationDescription;
  /** Leniencies applied (older shapes, placeholders, ...), with positions. */
  warnings: MargoProblem[];
  /** The exact input bytes, to be stored as they are. */
  bytes: Uint8Array;
}

const WHAT = 'application description';
const CODE = 'margo/invalid-description';

/**
 * Parses a `margo.yaml`. Throws `OutpostError('margo/invalid-description')` (422) listing every problem with
 * its field path, line and column; `payload-too-large` (413) for input over `maxBytes`.
 */
export function parseApplicationDescription(
  input: string | Uint8Array,
  opts: ParseApplicationDescriptionOptions = {},
): ParsedApplicationDescription {
  const loadOpts = { file: opts.file, maxBytes: opts.maxBytes, what: WHAT, code: CODE };
  const src = loadYaml(input, loadOpts);
  const problems = new ProblemList();
  const description = readApplicationDescription(new Reader(problems), src.value, (p) => src.sourceOf(p));
  const resolved = problems.resolve((p, a) => src.locate(p, a));
  if (problems.hasErrors || !description) throwProblems(loadOpts, resolved);
  return { description, warnings: resolved.filter((p) => p.severity === 'warning'), bytes: src.bytes };
}

/**
 * The same checks for a value that is already parsed (e.g. JSON from an API): returns the description and
 * warnings, or throws `margo/invalid-description` with field paths (no positions).
 */
export function normalizeApplicationDescription(
  value: unknown,
  opts: { file?: string } = {},
): { description: ApplicationDescription; warnings: MargoProblem[] } {
  const problems = new ProblemList();
  const description = readApplicationDescription(new Reader(problems), value);
  const resolved = problems.resolve();
  if (problems.hasErrors || !description)
    throwProblems({ file: opts.file, what: WHAT, code: CODE }, resolved);
  return { description, warnings: resolved.filter((p) => p.severity === 'warning') };
}
