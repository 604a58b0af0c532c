import { decode as cborDecode, encode as cborEncode, Tokenizer, Type, type Token } from 'cborg';
import { OutpostError } from '../errors/index.js';

/**
 * CBOR as Zephyr's MCUmgr wants it (cborg, configured):
 * - byte strings (Uint8Array, Buffer) are plain major type 2, never tagged (cborg has no tags unless
 *   given; Zephyr answers a tag-64 byte string with rc 3);
 * - map keys stay in the order the caller wrote them (zcbor accepts any order; keeping ours makes
 *   requests byte-identical to those captured from mcumgr tools);
 * - `undefined` fields are left out, so optional request fields can be written inline.
 */
const keepOrder = () => 0;

export function encodeCbor(value: unknown): Uint8Array {
  return cborEncode(value, { mapSorter: keepOrder, ignoreUndefinedProperties: true });
}

export interface CborReadOptions {
  /** Deepest nesting of arrays, maps and tags. Default 16 (SMP responses use 3). */
  maxDepth?: number;
  /** Most data items in one message. Default 4096. */
  maxItems?: number;
}

/**
 * Decodes one CBOR item from untrusted bytes: bounded nesting and item count (checked while reading,
 * before anything is built), no tags, no integers beyond 2^53, no duplicate map keys, and no bytes
 * left over. Indefinite-length maps (what Zephyr sends) are fine. Throws `smp/bad-cbor`.
 */
export function decodeCbor(bytes: Uint8Array, options: CborReadOptions = {}): unknown {
  const maxDepth = options.maxDepth ?? 16;
  const maxItems = options.maxItems ?? 4096;
  try {
    return cborDecode(bytes, {
      strict: false,
      allowIndefinite: true,
      allowUndefined: false,
      allowBigInt: false,
      allowInfinity: false,
      allowNaN: false,
      rejectDuplicateMapKeys: true,
      tokenizer: new BoundedTokenizer(bytes, maxDepth, maxItems),
    });
  } catch (err) {
    if (err instanceof OutpostError) throw err;
    throw new OutpostError(
      'smp/bad-cbor',
      `unreadable CBOR: ${(err as Error).message.replace(/^CBOR decode error: /, '')}`,
      {
        cause: err,
      },
    );
  }
}

/**
 * The SMP payload of a response: a CBOR map. MCUboot's serial recovery has been seen to leave out
 * the final break of the outer indefinite map; such a payload is read again with the break added.
 */
export function decodeSmpMap(bytes: Uint8Array, options: CborReadOptions = {}): Record<string, unknown> {
  let value: unknown;
  try {
    value = decodeCbor(bytes, options);
  } catch (err) {
    if (bytes[0] !== 0xbf) throw err;
    const fixed = new Uint8Array(bytes.length + 1);
    fixed.set(bytes);
    fixed[bytes.length] = 0xff;
    try {
      value = decodeCbor(fixed, options);
    } catch {
      throw err;
    }
  }
  if (!value || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array)
    throw new OutpostError('smp/bad-cbor', 'the SMP payload is not a CBOR map');
  return value as Record<string, unknown>;
}

interface Frame {
  /** Items still expected in this container; Infinity for indefinite length. */
  remaining: number;
}

/**
 * Wraps cborg's tokenizer to count nesting and items as tokens are read, so a hostile message can
 * neither recurse cborg's decoder into a stack overflow nor make it build millions of items.
 */
class BoundedTokenizer extends Tokenizer {
  private readonly stack: Frame[] = [];
  private items = 0;

  constructor(
    data: Uint8Array,
    private readonly maxDepth: number,
    private readonly maxItems: number,
  ) {
    super(data, {});
  }

  override next(): Token {
    const token = super.next();
    if (++this.items > this.maxItems)
      throw new OutpostError('smp/bad-cbor', `CBOR message has more than ${this.maxItems} items`);
    const type = token.type;
    if (type === Type.break) {
      const top = this.stack[this.stack.length - 1];
      if (top && top.remaining === Infinity) {
        this.stack.pop();
        this.completeItem();
      }
      return token;
    }
    const count =
      type === Type.array
        ? Number(token.value)
        : type === Type.map
          ? Number(token.value) * 2
          : type === Type.tag
            ? 1
            : 0;
    if (count > 0) {
      if (this.stack.length >= this.maxDepth)
        throw new OutpostError('smp/bad-cbor', `CBOR nesting deeper than ${this.maxDepth}`);
      if (count !== Infinity && count > this.maxItems)
        throw new OutpostError('smp/bad-cbor', `CBOR container declares ${count} items`);
      this.stack.push({ remaining: count });
      return token;
    }
    this.completeItem();
    return token;
  }

  private completeItem(): void {
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top || top.remaining === Infinity) return;
      top.remaining -= 1;
      if (top.remaining > 0) return;
      this.stack.pop();
    }
  }
}
