import { parseDigest } from '../digest/digest.js';
import { TollgateError, type ErrorCode } from '../errors/tollgate-error.js';

/** What is being read (for messages) and which error code a type error raises. */
export interface FieldContext {
  what: string;
  code: ErrorCode;
}

/** RFC 6838 `type/subtype`, as the OCI image spec constrains media types. */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function joinPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (!IDENTIFIER.test(key)) return `${path}[${JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

export function fieldError(ctx: FieldContext, message: string, cause?: unknown): TollgateError {
  return new TollgateError(ctx.code, `${ctx.what}: ${message}`, cause === undefined ? undefined : { cause });
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (it is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value).slice(0, 40)}`;
}

function mistyped(ctx: FieldContext, path: string, expected: string, value: unknown): never {
  throw fieldError(ctx, `${path || 'the document'} must be ${expected}, got ${describe(value)}`);
}

export function asObject(ctx: FieldContext, value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) mistyped(ctx, path, 'an object', value);
  return value as Record<string, unknown>;
}

export function asArray(ctx: FieldContext, value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) mistyped(ctx, path, 'an array', value);
  return value;
}

export function asString(ctx: FieldContext, value: unknown, path: string): string {
  if (typeof value !== 'string') mistyped(ctx, path, 'a string', value);
  return value;
}

/** `obj[key]` as a string, or undefined when absent. */
export function optionalString(ctx: FieldContext, obj: Record<string, unknown>, key: string, path: string): string | undefined {
  const value = obj[key];
  return value === undefined ? undefined : asString(ctx, value, joinPath(path, key));
}

export function optionalBoolean(ctx: FieldContext, obj: Record<string, unknown>, key: string, path: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') mistyped(ctx, joinPath(path, key), 'true or false', value);
  return value;
}

/** A non-negative safe integer (sizes, counts, durations in nanoseconds). */
export function asNonNegativeInteger(ctx: FieldContext, value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    mistyped(ctx, path, 'a non-negative integer', value);
  }
  return value;
}

export function optionalInteger(ctx: FieldContext, obj: Record<string, unknown>, key: string, path: string): number | undefined {
  const value = obj[key];
  return value === undefined ? undefined : asNonNegativeInteger(ctx, value, joinPath(path, key));
}

export function asStringArray(ctx: FieldContext, value: unknown, path: string): string[] {
  return asArray(ctx, value, path).map((item, i) => asString(ctx, item, joinPath(path, i)));
}

export function optionalStringArray(ctx: FieldContext, obj: Record<string, unknown>, key: string, path: string): string[] | undefined {
  const value = obj[key];
  return value === undefined ? undefined : asStringArray(ctx, value, joinPath(path, key));
}

/** A map of strings to strings (annotations, labels). */
export function asStringMap(ctx: FieldContext, value: unknown, path: string): Record<string, string> {
  const obj = asObject(ctx, value, path);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, item] of Object.entries(obj)) out[key] = asString(ctx, item, joinPath(path, key));
  return { ...out };
}

export function optionalStringMap(ctx: FieldContext, obj: Record<string, unknown>, key: string, path: string): Record<string, string> | undefined {
  const value = obj[key];
  return value === undefined ? undefined : asStringMap(ctx, value, joinPath(path, key));
}

/** A media type of RFC 6838 shape (`type/subtype`), no parameters. */
export function asMediaType(ctx: FieldContext, value: unknown, path: string): string {
  const text = asString(ctx, value, path);
  if (!MEDIA_TYPE.test(text)) mistyped(ctx, path, 'a media type of the form type/subtype', value);
  return text;
}

export function asDigest(ctx: FieldContext, value: unknown, path: string): string {
  const text = asString(ctx, value, path);
  try {
    return parseDigest(text, path).value;
  } catch (error) {
    throw fieldError(ctx, error instanceof Error ? error.message : String(error), error);
  }
}
