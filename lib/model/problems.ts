import type { FieldProblem } from '../errors/index.js';
import type { MargoProblem } from './types.js';

/** A path into a resource: object keys and array indexes, e.g. `['deploymentProfiles', 0, 'id']`. */
export type PathSegment = string | number;
export type Path = readonly PathSegment[];

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['deploymentProfiles', 0, 'components', 1, 'name']` → `deploymentProfiles[0].components[1].name`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Where a problem points in the YAML source: the value at the path (default) or its key. */
export type Anchor = 'value' | 'key';

export interface PendingProblem {
  path: Path;
  message: string;
  severity: 'error' | 'warning';
  anchor: Anchor;
}

/** Collects problems while a resource is checked; positions are resolved at the end, only for what was found. */
export class ProblemList {
  readonly items: PendingProblem[] = [];

  error(path: Path, message: string, anchor: Anchor = 'value'): void {
    this.items.push({ path: [...path], message, severity: 'error', anchor });
  }

  warn(path: Path, message: string, anchor: Anchor = 'value'): void {
    this.items.push({ path: [...path], message, severity: 'warning', anchor });
  }

  get hasErrors(): boolean {
    return this.items.some((p) => p.severity === 'error');
  }

  errorCount(): number {
    return this.items.filter((p) => p.severity === 'error').length;
  }

  /** Resolves positions (when a locator is given) and returns the problems in source order. */
  resolve(
    locate?: (path: Path, anchor: Anchor) => { line: number; column: number } | undefined,
  ): MargoProblem[] {
    const out = this.items.map((p) => {
      const pos = locate?.(p.path, p.anchor);
      const problem: MargoProblem = { path: formatPath(p.path), message: p.message, severity: p.severity };
      if (pos) {
        problem.line = pos.line;
        problem.column = pos.column;
      }
      return problem;
    });
    // Stable sort by position; problems without one keep their relative order at the end.
    return out
      .map((p, i) => ({ p, i }))
      .sort((a, b) => {
        const la = a.p.line ?? Number.MAX_SAFE_INTEGER;
        const lb = b.p.line ?? Number.MAX_SAFE_INTEGER;
        if (la !== lb) return la - lb;
        const ca = a.p.column ?? 0;
        const cb = b.p.column ?? 0;
        return ca !== cb ? ca - cb : a.i - b.i;
      })
      .map(({ p }) => p);
  }
}

/** One problem as one line: `deploymentProfiles[0].id: duplicate profile id "x" (line 12, column 9)`. */
export function formatProblem(p: {
  path?: string;
  field?: string;
  message: string;
  line?: number;
  column?: number;
}): string {
  const where = p.path ?? p.field ?? '';
  const pos =
    p.line !== undefined ? ` (line ${p.line}${p.column !== undefined ? `, column ${p.column}` : ''})` : '';
  return `${where ? `${where}: ` : ''}${p.message}${pos}`;
}

/** `margo.yaml: 3 problems: a: x (line 1, column 1); b: ...` — one readable line for the error message. */
export function summarize(subject: string, problems: readonly MargoProblem[], max = 10): string {
  const n = problems.length;
  const shown = problems.slice(0, max).map(formatProblem).join('; ');
  const more = n > max ? `; and ${n - max} more` : '';
  return `${subject}: ${n} problem${n === 1 ? '' : 's'}: ${shown}${more}`;
}

export function toFieldProblems(problems: readonly MargoProblem[], file?: string): FieldProblem[] {
  return problems.map((p) => {
    const f: FieldProblem = { field: p.path, message: p.message };
    if (file !== undefined) f.file = file;
    if (p.line !== undefined) f.line = p.line;
    if (p.column !== undefined) f.column = p.column;
    return f;
  });
}
