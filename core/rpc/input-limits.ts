import type { FieldProblem } from '../../lib/errors/index.js';

/**
 * Bounds on the shape of input before anything walks it (validation, the credential scrubber, the
 * audit log, problem lists): a value nested deeper than `maxDepth`, an object or array with more than
 * `maxEntries` members, or more than `maxNodes` values in all is refused up front (ADR 0481). The check
 * is iterative, so no input can exhaust the stack, and it stops at the first limit broken.
 */
export interface InputLimits {
  maxDepth: number;
  maxEntries: number;
  maxNodes: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = { maxDepth: 64, maxEntries: 10_000, maxNodes: 200_000 };

/**
 * A request body refused from its text, before it was parsed (see jsonTextShapeProblem): binders hand
 * it to the dispatcher as the input, which refuses it like any other input over the limits (400, audited).
 */
export class RefusedInput {
  constructor(readonly problem: FieldProblem) {}
}

/** The first limit `value` breaks, as a field problem, or undefined when it is within them all. */
export function inputShapeProblem(
  value: unknown,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): FieldProblem | undefined {
  if (value instanceof RefusedInput) return value.problem;
  interface Frame {
    v: unknown;
    depth: number;
    key: string | number | undefined;
    parent: Frame | undefined;
  }
  const stack: Frame[] = [{ v: value, depth: 0, key: undefined, parent: undefined }];
  let nodes = 0;
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (++nodes > limits.maxNodes)
      return { field: '(input)', message: `has more than ${limits.maxNodes} values in all` };
    if (f.v === null || typeof f.v !== 'object') continue;
    if (f.depth >= limits.maxDepth)
      return { field: pathOf(f), message: `is nested deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(f.v)) {
      if (f.v.length > limits.maxEntries)
        return { field: pathOf(f), message: `has more than ${limits.maxEntries} items` };
      for (let i = 0; i < f.v.length; i++) stack.push({ v: f.v[i], depth: f.depth + 1, key: i, parent: f });
    } else {
      let n = 0;
      for (const k in f.v) {
        if (!Object.prototype.hasOwnProperty.call(f.v, k)) continue;
        if (++n > limits.maxEntries)
          return { field: pathOf(f), message: `has more than ${limits.maxEntries} members` };
        stack.push({ v: (f.v as Record<string, unknown>)[k], depth: f.depth + 1, key: k, parent: f });
      }
    }
  }
  return undefined;

  function pathOf(f: Frame): string {
    const segs: (string | number)[] = [];
    for (let x: Frame | undefined = f; x?.key !== undefined; x = x.parent) segs.push(x.key);
    segs.reverse();
    // Deep paths are cut: the first few segments say where; the depth is in the message.
    const shown = segs.slice(0, 8).map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`));
    const text = shown.join('').replace(/^\./, '') + (segs.length > 8 ? '…' : '');
    return text || '(input)';
  }
}

/** At most this many field problems in one answer; the rest are counted. */
export const MAX_PROBLEMS = 50;

/** The first `MAX_PROBLEMS` problems, plus one that counts the others. */
export function capProblems(problems: FieldProblem[], max = MAX_PROBLEMS): FieldProblem[] {
  if (problems.length <= max) return problems;
  return [
    ...problems.slice(0, max),
    { field: '(more)', message: `and ${problems.length - max} more problems, not listed` },
  ];
}

/**
 * The same limits checked on JSON text before it is parsed: parsing an object with 800,000 members
 * alone blocks the event loop for seconds, so a body with more values than `maxNodes`, or a container
 * with more than `maxEntries`, is refused from a linear scan of its characters. Depth is left to
 * inputShapeProblem after parsing (JSON.parse itself copes with deep text), so that refusal is audited
 * with the call. Undefined when the text is within the limits (or is not JSON: the parser says so).
 */
export function jsonTextShapeProblem(
  text: string,
  limits: InputLimits = DEFAULT_INPUT_LIMITS,
): FieldProblem | undefined {
  const entries: number[] = [0];
  let values = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    switch (c) {
      case 0x22: // "
        inString = true;
        break;
      case 0x7b: // {
      case 0x5b: // [
        entries.push(1);
        break;
      case 0x7d: // }
      case 0x5d: // ]
        if (entries.length > 1) entries.pop();
        break;
      case 0x2c: {
        // ,
        const top = entries.length - 1;
        if (++entries[top]! > limits.maxEntries)
          return {
            field: '(input)',
            message: `has an object or list with more than ${limits.maxEntries} entries`,
          };
        if (++values > limits.maxNodes)
          return { field: '(input)', message: `has more than ${limits.maxNodes} values in all` };
        break;
      }
    }
  }
  return undefined;
}
