import { TollgateError } from '../errors/tollgate-error.js';

export interface StrictJsonOptions {
  /** Largest input accepted, in UTF-8 bytes (default 16 MiB). */
  maxBytes?: number;
  /** Deepest nesting of objects and arrays accepted (default 64). */
  maxDepth?: number;
}

export const DEFAULT_JSON_MAX_BYTES = 16 * 1024 * 1024;
export const DEFAULT_JSON_MAX_DEPTH = 64;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses JSON strictly, for documents whose bytes are hashed and trusted: refuses invalid UTF-8, a byte order
 * mark, duplicate object keys at any depth (compared after unescaping, so `{"a":1,"\u0061":2}` is refused),
 * nesting deeper than `maxDepth`, trailing text, and anything `JSON.parse` refuses. Two parsers that disagree on
 * which of two duplicate keys wins is how a signed document is made to mean two things, hence the key check.
 *
 * One pass of an iterative scanner checks the grammar, keys and depth (no recursion, so hostile nesting cannot
 * exhaust the stack); `JSON.parse` then builds the value.
 */
export function parseStrictJson(input: Uint8Array | string, what: string, options: StrictJsonOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? DEFAULT_JSON_MAX_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_JSON_MAX_DEPTH;
  let text: string;
  if (typeof input === 'string') {
    const bytes = Buffer.byteLength(input, 'utf8');
    if (bytes > maxBytes) throw tooLarge(what, bytes, maxBytes);
    if (input.charCodeAt(0) === 0xfeff) throw invalid(`${what}: starts with a byte order mark (U+FEFF); JSON must not have one, remove it`);
    text = input;
  } else {
    if (input.byteLength > maxBytes) throw tooLarge(what, input.byteLength, maxBytes);
    if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) {
      throw invalid(`${what}: starts with a UTF-8 byte order mark; JSON must not have one, remove it`);
    }
    try {
      text = decoder.decode(input);
    } catch {
      throw invalid(`${what}: is not valid UTF-8 (at or after byte ${firstInvalidUtf8(input)}); the document is corrupt or not JSON`);
    }
  }
  new Scanner(text, what, maxDepth).scan();
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function invalid(message: string): TollgateError {
  return new TollgateError('INVALID_JSON', message);
}

function tooLarge(what: string, size: number, max: number): TollgateError {
  return new TollgateError('SIZE_LIMIT', `${what}: ${size} bytes is more than the ${max} allowed for this document; it is not what it claims to be`);
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0;
  let hi = bytes.length;
  // Binary search for the shortest prefix that fails to decode (a cut inside a valid character also fails, so
  // this lands on or just after the first bad byte).
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid + 1), { stream: true });
      lo = mid + 1;
    } catch {
      hi = mid;
    }
  }
  return lo;
}

interface Frame {
  object: boolean;
  keys: Set<string> | undefined;
  key: string;
  index: number;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

class Scanner {
  private i = 0;
  private readonly stack: Frame[] = [];

  constructor(
    private readonly text: string,
    private readonly what: string,
    private readonly maxDepth: number,
  ) {}

  scan(): void {
    const text = this.text;
    this.ws();
    for (;;) {
      // A value starts at this.i.
      const c = text.charCodeAt(this.i);
      if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        const object = c === 0x7b;
        if (this.stack.length >= this.maxDepth) {
          this.fail(`nesting deeper than ${this.maxDepth} levels at ${this.path()}`);
        }
        this.stack.push({ object, keys: object ? new Set() : undefined, key: '', index: 0 });
        this.i++;
        this.ws();
        if (text.charCodeAt(this.i) === (object ? 0x7d : 0x5d)) {
          this.stack.pop();
          this.i++;
        } else {
          if (object) this.key();
          continue;
        }
      } else if (c === 0x22 /* " */) {
        this.string();
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        NUMBER.lastIndex = this.i;
        if (!NUMBER.test(text)) this.unexpected();
        this.i = NUMBER.lastIndex;
      } else if (text.startsWith('true', this.i)) {
        this.i += 4;
      } else if (text.startsWith('false', this.i)) {
        this.i += 5;
      } else if (text.startsWith('null', this.i)) {
        this.i += 4;
      } else {
        this.unexpected('a value');
      }
      // After a value: a comma, a closing bracket, or the end.
      for (;;) {
        this.ws();
        const top = this.stack[this.stack.length - 1];
        if (top === undefined) {
          if (this.i < text.length) this.fail(`unexpected text after the JSON value at ${this.where(this.i)}`);
          return;
        }
        const d = text.charCodeAt(this.i);
        if (d === 0x2c /* , */) {
          this.i++;
          this.ws();
          if (top.object) this.key();
          else top.index++;
          break;
        }
        if (d === (top.object ? 0x7d : 0x5d)) {
          this.stack.pop();
          this.i++;
          continue;
        }
        this.unexpected(top.object ? '"," or "}"' : '"," or "]"');
      }
    }
  }

  /** Reads `"key" :` in the innermost object, refusing a key it has seen before. */
  private key(): void {
    const frame = this.stack[this.stack.length - 1]!;
    if (this.text.charCodeAt(this.i) !== 0x22) this.unexpected('a key string');
    const start = this.i;
    const escaped = this.string();
    const key = escaped ? (JSON.parse(this.text.slice(start, this.i)) as string) : this.text.slice(start + 1, this.i - 1);
    if (frame.keys!.has(key)) {
      frame.key = key;
      const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}…` : key);
      this.stack.pop();
      const path = this.path();
      this.fail(`duplicate key ${shown} at ${path}, ${this.where(start)}; a document with duplicate keys can be read two ways, so it is refused`);
    }
    frame.keys!.add(key);
    frame.key = key;
    this.ws();
    if (this.text.charCodeAt(this.i) !== 0x3a /* : */) this.unexpected('":"');
    this.i++;
    this.ws();
  }

  /** Skips a string starting at this.i (a quote); returns whether it holds escapes. */
  private string(): boolean {
    const text = this.text;
    let j = this.i + 1;
    let escaped = false;
    for (;;) {
      if (j >= text.length) {
        this.i = j;
        this.fail(`unterminated string starting at ${this.where(this.i)}`);
      }
      const c = text.charCodeAt(j);
      if (c === 0x22) break;
      if (c === 0x5c /* \ */) {
        escaped = true;
        const e = text.charCodeAt(j + 1);
        if (e === 0x75 /* u */) {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) {
            this.i = j;
            this.fail(`invalid \\u escape at ${this.where(j)}`);
          }
          j += 6;
          continue;
        }
        // " \ / b f n r t
        if (e !== 0x22 && e !== 0x5c && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) {
          this.i = j;
          this.fail(`invalid escape at ${this.where(j)}`);
        }
        j += 2;
        continue;
      }
      if (c < 0x20) {
        this.i = j;
        this.fail(`unescaped control character in a string at ${this.where(j)}`);
      }
      j++;
    }
    this.i = j + 1;
    return escaped;
  }

  private ws(): void {
    const text = this.text;
    let c = text.charCodeAt(this.i);
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++this.i);
  }

  private path(): string {
    let path = '$';
    for (const frame of this.stack) {
      if (!frame.object) path += `[${frame.index}]`;
      else if (IDENTIFIER.test(frame.key)) path += `.${frame.key}`;
      else path += `[${JSON.stringify(frame.key.length > 80 ? `${frame.key.slice(0, 80)}…` : frame.key)}]`;
    }
    return path;
  }

  private where(offset: number): string {
    let line = 1;
    let lineStart = 0;
    for (let k = this.text.indexOf('\n'); k >= 0 && k < offset; k = this.text.indexOf('\n', k + 1)) {
      line++;
      lineStart = k + 1;
    }
    return `position ${offset} (line ${line}, column ${offset - lineStart + 1})`;
  }

  private unexpected(expected?: string): never {
    if (this.i >= this.text.length) {
      this.fail(`unexpected end of input${expected ? `, expected ${expected}` : ''}; the document is truncated`);
    }
    const ch = JSON.stringify(this.text.slice(this.i, this.i + 1));
    this.fail(`unexpected character ${ch} at ${this.where(this.i)}${expected ? `, expected ${expected}` : ''}`);
  }

  private fail(message: string): never {
    throw invalid(`${this.what}: ${message}`);
  }
}
