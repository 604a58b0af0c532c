import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Alias,
  type Document,
  type Node as YamlNode,
  type Scalar,
} from 'yaml';
import { OutpostError } from '../errors/index.js';
import {
  ProblemList,
  summarize,
  toFieldProblems,
  type Anchor,
  type Path,
  type PathSegment,
  type MargoProblem,
} from '../model/index.js';

/**
 * Safe loading of one YAML document (a `margo.yaml` or an ApplicationDeployment) into plain values, with
 * source positions for error messages. It refuses, before or instead of doing expensive work: input over
 * `maxBytes`, text that is not UTF-8 or holds control characters (binary data), several documents, YAML
 * directives other than 1.2, custom tags, non-scalar or duplicate keys, non-finite numbers, nesting deeper
 * than {@link MAX_DEPTH}, and alias bombs (more than {@link MAX_ALIASES} aliases, or aliases expanding to more
 * than {@link MAX_ALIAS_EXPANSION} nodes).
 */

export const DEFAULT_MAX_BYTES = 1024 * 1024;
export const MAX_DEPTH = 64;
export const MAX_ALIASES = 100;
export const MAX_ALIAS_EXPANSION = 10_000;

export interface LoadYamlOptions {
  /** File name used in messages and in FieldProblem.file. */
  file?: string | undefined;
  maxBytes?: number | undefined;
  /** What the document is, for messages ("application description"). */
  what: string;
  /** Error code thrown for content problems (status 422). */
  code: string;
}

export interface YamlSource {
  value: unknown;
  text: string;
  bytes: Uint8Array;
  /** 1-based line and column of the value (or key) at `path`, or of its nearest existing ancestor. */
  locate(path: Path, anchor: Anchor): { line: number; column: number } | undefined;
  /** The scalar's text as written (e.g. `1.0` for a number), when the node at `path` is a scalar. */
  sourceOf(path: Path): string | undefined;
}

// Control characters YAML 1.2 does not allow in a stream (TAB, LF, CR and NEL are allowed): binary data.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\u0080-\u0084\u0086-\u009F\uFFFE\uFFFF]/;

/** 1-based line and column of a UTF-16 offset in `text` (used before the YAML parser has run). */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

function tooLarge(opts: LoadYamlOptions, size: number | string, max: number): OutpostError {
  const subject = opts.file ?? opts.what;
  return new OutpostError(
    'payload-too-large',
    `${subject}: ${typeof size === 'number' ? `${size} bytes` : size} exceeds the limit of ${max} bytes`,
    { status: 413, data: { maxBytes: max }, errors: [{ field: '', message: `larger than ${max} bytes` }] },
  );
}

/** Throws the content error with every problem in `list` (positions resolved through `locate`). */
export function throwProblems(
  opts: Pick<LoadYamlOptions, 'file' | 'what' | 'code'>,
  problems: readonly MargoProblem[],
  data?: unknown,
): never {
  const errs = problems.filter((p) => p.severity === 'error');
  throw new OutpostError(opts.code, summarize(opts.file ?? opts.what, errs), {
    status: 422,
    errors: toFieldProblems(errs, opts.file),
    data,
  });
}

function rawProblem(message: string, pos?: { line: number; column: number }): MargoProblem {
  return { path: '', message, severity: 'error', ...(pos ? { line: pos.line, column: pos.column } : {}) };
}

/** Bytes and text of the input, after the size and encoding checks. */
export function decodeInput(
  input: string | Uint8Array,
  opts: LoadYamlOptions,
): { bytes: Uint8Array; text: string } {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  let bytes: Uint8Array;
  let text: string;
  if (typeof input === 'string') {
    // Every UTF-16 code unit takes at least one UTF-8 byte: a long string fails here without encoding it.
    if (input.length > max) throw tooLarge(opts, `more than ${max} bytes`, max);
    bytes = Buffer.from(input, 'utf8');
    if (bytes.byteLength > max) throw tooLarge(opts, bytes.byteLength, max);
    text = input;
  } else {
    if (input.byteLength > max) throw tooLarge(opts, input.byteLength, max);
    // A copy: the caller's buffer may be pooled or reused, the returned bytes are meant to be stored.
    bytes = Buffer.from(input);
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      const lossy = new TextDecoder('utf-8', { ignoreBOM: true }).decode(input);
      const at = lossy.indexOf('\uFFFD');
      throwProblems(opts, [
        rawProblem('is not UTF-8 text (binary data?)', at >= 0 ? lineColumnAt(lossy, at) : undefined),
      ]);
    }
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const m = CONTROL_CHAR.exec(text);
  if (m) {
    const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throwProblems(opts, [
      rawProblem(`holds the control character U+${code} (binary data?)`, lineColumnAt(text, m.index)),
    ]);
  }
  return { bytes, text };
}

const YAML_ERROR_TEXT: Record<string, string> = {
  MULTIPLE_DOCS: 'holds several YAML documents; exactly one is allowed',
};

/** Parses one YAML document safely; throws `opts.code` (422) listing every syntax problem. */
export function loadYaml(input: string | Uint8Array, opts: LoadYamlOptions): YamlSource {
  const { bytes, text } = decodeInput(input, opts);
  const lineCounter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, {
      lineCounter,
      prettyErrors: false,
      uniqueKeys: true,
      version: '1.2',
      schema: 'core',
      strict: true,
      keepSourceTokens: false,
    });
  } catch (err) {
    if (err instanceof RangeError) throwProblems(opts, [rawProblem('YAML nesting is too deep')]);
    throw err;
  }
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return p.line === 0 ? lineColumnAt(text, offset) : { line: p.line, column: p.col };
  };

  const syntax: MargoProblem[] = [];
  let structural = 0;
  for (const e of [...doc.errors, ...doc.warnings]) {
    let message = YAML_ERROR_TEXT[e.code] ?? e.message.replace(/\s+/g, ' ').trim();
    if (e.code === 'DUPLICATE_KEY') {
      const m = /^\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^:\n]*?)\s*:/.exec(
        text.slice(e.pos[0], e.pos[0] + 1000),
      );
      const key = (m?.[1] ?? text.slice(e.pos[0], e.pos[1])).trim();
      message = `duplicate key ${JSON.stringify(key.replace(/^["']|["']$/g, ''))}`;
    } else if (e.name === 'YAMLParseError' && e.code !== 'MULTIPLE_DOCS') {
      // After the first syntax error the parser mostly reports its consequences: keep the first only.
      if (structural++ > 0) continue;
    }
    syntax.push(rawProblem(message, pos(e.pos[0])));
  }
  const version = doc.directives?.yaml;
  if (version?.explicit && version.version !== '1.2') {
    syntax.push(
      rawProblem(`YAML ${version.version} is not supported; write YAML 1.2 (drop the %YAML directive)`, {
        line: 1,
        column: 1,
      }),
    );
  }
  if (syntax.length > 0) throwProblems(opts, syntax);

  const aliasTargets = new Map<Alias, YamlNode>();
  const converter = new Converter(aliasTargets);
  const value = converter.convert(doc.contents, [], 0);
  const locator = (path: Path, anchor: Anchor) => {
    const found = findNode(doc.contents, path, aliasTargets);
    const node = anchor === 'key' && found.keyNode && found.complete ? found.keyNode : found.node;
    const r = node?.range;
    return r ? pos(r[0]) : undefined;
  };
  if (converter.problems.hasErrors) throwProblems(opts, converter.problems.resolve(locator));
  return {
    value,
    text,
    bytes,
    locate: locator,
    sourceOf(path) {
      const found = findNode(doc.contents, path, aliasTargets);
      if (!found.complete || !isScalar(found.node)) return undefined;
      const s = (found.node as Scalar & { source?: string }).source;
      return typeof s === 'string' ? s : undefined;
    },
  };
}

class Converter {
  readonly problems = new ProblemList();
  private readonly anchors = new Map<string, YamlNode>();
  private aliasCount = 0;
  private expanded = 0;
  private bomb = false;

  constructor(private readonly aliasTargets: Map<Alias, YamlNode>) {}

  convert(node: YamlNode | null | undefined, path: PathSegment[], depth: number, viaAlias = false): unknown {
    if (this.bomb) return null;
    if (viaAlias && ++this.expanded > MAX_ALIAS_EXPANSION) {
      this.bomb = true;
      this.problems.error(path, `aliases expand to more than ${MAX_ALIAS_EXPANSION} nodes (YAML bomb?)`);
      return null;
    }
    if (depth > MAX_DEPTH) {
      this.problems.error(path, `nesting deeper than ${MAX_DEPTH} levels`);
      this.bomb = true;
      return null;
    }
    if (node === null || node === undefined) return null;
    let out: unknown;
    if (isAlias(node)) {
      if (++this.aliasCount > MAX_ALIASES) {
        this.bomb = true;
        this.problems.error(path, `more than ${MAX_ALIASES} aliases (YAML bomb?)`);
        return null;
      }
      const target = this.anchors.get(node.source);
      if (!target) {
        this.problems.error(path, `alias *${node.source} has no anchor before it`);
        return null;
      }
      this.aliasTargets.set(node, target);
      return this.convert(target, path, depth, true);
    } else if (isScalar(node)) {
      out = this.scalar(node, path);
    } else if (isMap(node)) {
      const obj: Record<string, unknown> = {};
      for (const pair of node.items) {
        const key = this.key(pair.key as YamlNode | null, path);
        if (key === undefined) continue;
        if (Object.prototype.hasOwnProperty.call(obj, key)) {
          this.problems.error([...path, key], `duplicate key ${JSON.stringify(key)}`, 'key');
          continue;
        }
        const v = this.convert(pair.value as YamlNode | null, [...path, key], depth + 1, viaAlias);
        // defineProperty: a `__proto__` key must stay data, never become the prototype.
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
      }
      out = obj;
    } else if (isSeq(node)) {
      out = node.items.map((item, i) =>
        this.convert(item as YamlNode | null, [...path, i], depth + 1, viaAlias),
      );
    } else {
      this.problems.error(path, 'unsupported YAML node');
      out = null;
    }
    if (!viaAlias && node.anchor) this.anchors.set(node.anchor, node);
    return out;
  }

  private key(k: YamlNode | null, path: PathSegment[]): string | undefined {
    if (k === null || k === undefined) {
      this.problems.error(path, 'a key is empty');
      return undefined;
    }
    if (
      isScalar(k) &&
      (typeof k.value === 'string' || typeof k.value === 'number' || typeof k.value === 'boolean')
    ) {
      return String(k.value);
    }
    this.problems.error(path, 'keys must be plain strings (no lists, mappings, aliases or null as keys)');
    return undefined;
  }

  private scalar(node: Scalar, path: PathSegment[]): unknown {
    const v: unknown = node.value;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) {
        this.problems.error(path, 'numbers must be finite (.inf and .nan are not allowed)');
        return null;
      }
      // An integer literal beyond 2^53 may have been rounded: refuse it unless it is exact or is the
      // number's own shortest form (what JSON.stringify and our renderer write).
      const src = (node as Scalar & { source?: unknown }).source;
      if (
        !Number.isSafeInteger(v) &&
        typeof src === 'string' &&
        /^[-+]?(0x[0-9a-fA-F]+|0o[0-7]+|[0-9]+)$/.test(src)
      ) {
        const neg = src.startsWith('-');
        const digits = src.replace(/^[-+]/, '');
        const exact = (neg ? -BigInt(digits) : BigInt(digits)) === BigInt(v);
        if (!exact && String(v) !== src.replace(/^\+/, '')) {
          this.problems.error(path, `integer ${src} cannot be represented exactly (beyond 2^53)`);
          return null;
        }
      }
      return v;
    }
    this.problems.error(path, `unsupported value type (tag ${node.tag ?? 'unknown'})`);
    return null;
  }
}

interface Found {
  node: YamlNode | undefined;
  keyNode: YamlNode | undefined;
  complete: boolean;
}

function findNode(root: YamlNode | null, path: Path, aliasTargets: Map<Alias, YamlNode>): Found {
  let node: YamlNode | undefined = root ?? undefined;
  let keyNode: YamlNode | undefined;
  for (const seg of path) {
    while (node && isAlias(node)) node = aliasTargets.get(node);
    if (!node) return { node, keyNode, complete: false };
    let next: YamlNode | undefined;
    keyNode = undefined;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === String(seg)) {
          next = (pair.value as YamlNode | null) ?? undefined;
          keyNode = pair.key as YamlNode;
          if (!next) return { node: keyNode, keyNode, complete: true };
          break;
        }
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = (node.items[seg] as YamlNode | null) ?? undefined;
    }
    if (!next) return { node, keyNode: undefined, complete: false };
    node = next;
  }
  return { node, keyNode, complete: true };
}
