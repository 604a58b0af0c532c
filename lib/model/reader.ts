import {
  CONTROL_CHARACTERS,
  CONTROL_CHARACTERS_IN_TEXT,
  EXTENSION_KEY,
  EXTENSION_LIKE_KEY,
  NO_CONTROL_CHARACTERS,
} from './patterns.js';
import type { Path, ProblemList } from './problems.js';
import type { Extensions } from './types.js';

/**
 * Small checking helpers shared by the Margo parsers. Each reads one field, records a problem with its
 * path when the field is wrong, and returns the value (or undefined) so that checking goes on and every
 * problem of a document is reported at once.
 */

export type Obj = Record<string, unknown>;

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** "a string", "a list", ... for messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a number';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  return typeof v;
}

/** A pattern as people write it (`^oci://.+`, not `^oci:\/\/.+`). */
export function patternText(re: RegExp): string {
  return re.source.replace(/\\\//g, '/');
}

export class Reader {
  constructor(readonly problems: ProblemList) {}

  /** The value as a mapping, or a problem. */
  object(path: Path, v: unknown): Obj | undefined {
    if (isObject(v)) return v;
    this.problems.error(path, `must be a mapping, not ${describe(v)}`);
    return undefined;
  }

  /** A required mapping member. */
  requiredObject(path: Path, parent: Obj, key: string): Obj | undefined {
    if (parent[key] === undefined || parent[key] === null) {
      this.problems.error([...path, key], 'is required');
      return undefined;
    }
    return this.object([...path, key], parent[key]);
  }

  /** A list member (required or optional). Optional lists may be absent; `null` counts as absent. */
  list(
    path: Path,
    parent: Obj,
    key: string,
    opts: { required?: boolean; nonEmpty?: boolean } = {},
  ): unknown[] | undefined {
    const v = parent[key];
    if (v === undefined || v === null) {
      if (opts.required) this.problems.error([...path, key], 'is required');
      return undefined;
    }
    if (!Array.isArray(v)) {
      this.problems.error([...path, key], `must be a list, not ${describe(v)}`);
      return undefined;
    }
    if (opts.nonEmpty && v.length === 0) this.problems.error([...path, key], 'must not be empty');
    return v;
  }

  string(
    path: Path,
    parent: Obj,
    key: string,
    opts: { required?: boolean; pattern?: RegExp; hint?: string; nonEmpty?: boolean; name?: boolean } = {},
  ): string | undefined {
    const v = parent[key];
    const p = [...path, key];
    if (v === undefined || v === null) {
      if (opts.required) this.problems.error(p, 'is required');
      return undefined;
    }
    if (typeof v !== 'string') {
      this.problems.error(p, `must be a string, not ${describe(v)}`);
      return undefined;
    }
    if ((opts.required || opts.nonEmpty) && v.trim() === '') {
      this.problems.error(p, 'must not be empty');
      return undefined;
    }
    // A name is shown in tables: no control characters (a description may have line breaks, no more).
    if ((opts.name ? CONTROL_CHARACTERS : CONTROL_CHARACTERS_IN_TEXT).test(v)) {
      this.problems.error(p, NO_CONTROL_CHARACTERS);
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(v)) {
      this.problems.error(
        p,
        `${JSON.stringify(v)} must match ${patternText(opts.pattern)}${opts.hint ? ` (${opts.hint})` : ''}`,
      );
      return undefined;
    }
    return v;
  }

  boolean(path: Path, parent: Obj, key: string): boolean | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.problems.error([...path, key], `must be true or false, not ${describe(v)}`);
      return undefined;
    }
    return v;
  }

  number(
    path: Path,
    parent: Obj,
    key: string,
    opts: { required?: boolean; integer?: boolean; min?: number; positive?: boolean } = {},
  ): number | undefined {
    const v = parent[key];
    const p = [...path, key];
    if (v === undefined || v === null) {
      if (opts.required) this.problems.error(p, 'is required');
      return undefined;
    }
    if (typeof v !== 'number') {
      this.problems.error(p, `must be ${opts.integer ? 'an integer' : 'a number'}, not ${describe(v)}`);
      return undefined;
    }
    if (opts.integer && !Number.isInteger(v)) {
      this.problems.error(p, `must be an integer, not ${v}`);
      return undefined;
    }
    if (opts.positive && !(v > 0)) {
      this.problems.error(p, `must be greater than 0, not ${v}`);
      return undefined;
    }
    if (opts.min !== undefined && v < opts.min) {
      this.problems.error(p, `must be at least ${opts.min}, not ${v}`);
      return undefined;
    }
    return v;
  }

  /** A string from a fixed set. */
  oneOf<T extends string>(
    path: Path,
    parent: Obj,
    key: string,
    values: readonly T[],
    required = false,
  ): T | undefined {
    const v = this.string(path, parent, key, { required });
    if (v === undefined) return undefined;
    if (!(values as readonly string[]).includes(v)) {
      this.problems.error([...path, key], `${JSON.stringify(v)} must be one of ${values.join(', ')}`);
      return undefined;
    }
    return v as T;
  }

  /**
   * Checks the keys of a closed mapping: every key must be in `allowed`, or (when `extensions`) an
   * `x-<name>-extensions` key holding a mapping. Returns the extensions found (verbatim), if any.
   */
  keys(
    path: Path,
    obj: Obj,
    allowed: readonly string[],
    opts: { extensions?: boolean; what?: string } = {},
  ): Extensions | undefined {
    let ext: Extensions | undefined;
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key)) continue;
      if (opts.extensions && EXTENSION_KEY.test(key)) {
        if (!isObject(obj[key])) {
          this.problems.error([...path, key], `an extension must be a mapping, not ${describe(obj[key])}`);
          continue;
        }
        (ext ??= {})[key] = obj[key];
        continue;
      }
      if (opts.extensions && EXTENSION_LIKE_KEY.test(key)) {
        this.problems.error(
          [...path, key],
          `extension key ${JSON.stringify(key)} must match ${EXTENSION_KEY.source}`,
          'key',
        );
        continue;
      }
      const where = opts.what ? ` in ${opts.what}` : '';
      this.problems.error([...path, key], `unknown key ${JSON.stringify(key)}${where}`, 'key');
    }
    return ext;
  }
}

/** Keeps only the `x-<name>-extensions` members of an object (tolerant readers), or undefined. */
export function pickExtensions(obj: Obj): Extensions | undefined {
  let ext: Extensions | undefined;
  for (const key of Object.keys(obj)) {
    if (EXTENSION_KEY.test(key) && isObject(obj[key])) (ext ??= {})[key] = obj[key];
  }
  return ext;
}
