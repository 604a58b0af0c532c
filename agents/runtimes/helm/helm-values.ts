import { OutpostError } from '../../../lib/errors/index.js';
import { RuntimeErrorCode } from '../types.js';

/** A values path as helm's `--set` reads it: segments split on `.` (`\.` is a literal dot), `[n]` indexes lists. */
export function parseValuesPath(p: string): (string | number)[] {
  const bad = (why: string) =>
    new OutpostError(RuntimeErrorCode.invalidSpec, `helm value path ${JSON.stringify(p)} ${why}`, {
      status: 400,
    });
  const out: (string | number)[] = [];
  let buf = '';
  let afterIndex = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\' && p[i + 1] === '.') {
      buf += '.';
      i++;
    } else if (c === '.') {
      if (buf === '' && !afterIndex) throw bad('has an empty segment');
      if (buf !== '') out.push(buf);
      buf = '';
      afterIndex = false;
    } else if (c === '[') {
      const end = p.indexOf(']', i);
      const digits = end < 0 ? '' : p.slice(i + 1, end);
      if (!/^\d{1,5}$/.test(digits)) throw bad('has a list index that is not a number below 100000');
      if (buf === '' && !afterIndex) throw bad('has a list index without a name');
      if (buf !== '') out.push(buf);
      out.push(Number(digits));
      buf = '';
      afterIndex = true;
      i = end;
    } else {
      if (afterIndex) throw bad('continues after a list index without a dot');
      buf += c;
    }
  }
  if (buf !== '') out.push(buf);
  else if (!afterIndex) throw bad(p === '' ? 'is empty' : 'ends with a dot');
  return out;
}

type Tree = Record<string, unknown> | unknown[];

/**
 * Builds the nested values object from `dot.path → value` pairs (the Margo parameters whose targets
 * point at this chart). Two paths that claim the same place differently (`a` and `a.b`) are refused.
 */
export function valuesFromPaths(values: Record<string, unknown>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [p, value] of Object.entries(values)) {
    const segs = parseValuesPath(p);
    let node: Tree = root;
    for (let i = 0; i < segs.length; i++) {
      const key = segs[i]!;
      const last = i === segs.length - 1;
      const container = node as Record<string | number, unknown>;
      if (last) {
        if (container[key] !== undefined) {
          throw new OutpostError(
            RuntimeErrorCode.invalidSpec,
            `helm value path ${JSON.stringify(p)} is set twice or clashes with another path`,
            {
              status: 400,
            },
          );
        }
        container[key] = value;
        break;
      }
      const wantList = typeof segs[i + 1] === 'number';
      let next = container[key];
      if (next === undefined) {
        next = wantList ? [] : {};
        container[key] = next;
      } else if (wantList !== Array.isArray(next) || typeof next !== 'object' || next === null) {
        throw new OutpostError(
          RuntimeErrorCode.invalidSpec,
          `helm value path ${JSON.stringify(p)} clashes with another path`,
          {
            status: 400,
          },
        );
      }
      node = next as Tree;
    }
  }
  // Lists built from sparse indexes get null holes, as helm does.
  return JSON.parse(JSON.stringify(root)) as Record<string, unknown>;
}
