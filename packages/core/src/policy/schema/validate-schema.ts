import { childPath, type PolicyProblem } from './problems.js';

/** The JSON Schema keywords tollgate's policy schema uses; anything else in a schema is ignored. */
type Schema = {
  $ref?: string;
  type?: string | readonly string[];
  const?: unknown;
  enum?: readonly unknown[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean;
  required?: readonly string[];
  minProperties?: number;
  maxProperties?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  oneOf?: readonly Schema[];
  $defs?: Record<string, Schema>;
};

/** Problems past this many are not collected: one broken file should not produce a flood. */
const MAX_PROBLEMS = 200;

/**
 * Validates a parsed document against a JSON Schema using the subset of draft 2020-12 the policy schema needs
 * ($ref into $defs, type, const, enum, properties, additionalProperties false, required, min/maxProperties, items,
 * min/maxItems, min/maxLength, pattern, minimum, maximum, oneOf). Every problem names its JSON path. Patterns are
 * compiled with the `u` flag, as JSON Schema specifies ECMA-262 regular expressions.
 */
export function validateAgainstSchema(value: unknown, root: object): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const rootSchema = root as Schema;
  const visit = (node: unknown, schema: Schema, path: string): void => {
    if (problems.length >= MAX_PROBLEMS) return;
    if (schema.$ref !== undefined) {
      const name = schema.$ref.replace(/^#\/\$defs\//, '');
      const target = rootSchema.$defs?.[name];
      if (!target) throw new Error(`schema bug: unresolved $ref ${schema.$ref}`);
      visit(node, { ...target, ...withoutRef(schema) }, path);
      return;
    }
    const add = (message: string, at = path): void => {
      problems.push({ path: at, message });
    };
    if (schema.const !== undefined && node !== schema.const) {
      add(`must be ${JSON.stringify(schema.const)}${shownValue(node)}`);
      return;
    }
    if (schema.enum !== undefined && !schema.enum.includes(node)) {
      add(`must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}${shownValue(node)}`);
      return;
    }
    if (schema.type !== undefined) {
      const types = typeof schema.type === 'string' ? [schema.type] : schema.type;
      if (!types.some((t) => hasType(node, t))) {
        add(`must be ${types.map(article).join(' or ')}, not ${describeType(node)}`);
        return;
      }
    }
    if (typeof node === 'string') {
      const length = [...node].length;
      if (schema.minLength !== undefined && length < schema.minLength) add(schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters`);
      if (schema.maxLength !== undefined && length > schema.maxLength) add(`must be at most ${schema.maxLength} characters`);
      if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(node)) {
        add(`${JSON.stringify(node.length > 60 ? `${node.slice(0, 60)}…` : node)} does not match ${schema.pattern}${'description' in schema ? ` (${String((schema as { description: unknown }).description)})` : ''}`);
      }
    }
    if (typeof node === 'number') {
      if (schema.minimum !== undefined && node < schema.minimum) add(`must be at least ${schema.minimum}`);
      if (schema.maximum !== undefined && node > schema.maximum) add(`must be at most ${schema.maximum}`);
    }
    if (Array.isArray(node)) {
      if (schema.minItems !== undefined && node.length < schema.minItems) add(schema.minItems === 1 ? 'must not be empty' : `must have at least ${schema.minItems} items`);
      if (schema.maxItems !== undefined && node.length > schema.maxItems) {
        add(`must have at most ${schema.maxItems} items`);
        return;
      }
      if (schema.items) node.forEach((item, i) => visit(item, schema.items!, childPath(path, i)));
    }
    if (isPlainObject(node)) {
      const keys = Object.keys(node);
      if (schema.additionalProperties === false) {
        const known = Object.keys(schema.properties ?? {});
        for (const key of keys) {
          if (!known.includes(key)) add(`unknown key ${JSON.stringify(key.length > 60 ? `${key.slice(0, 60)}…` : key)}${suggest(key, known)}`, childPath(path, key));
        }
      }
      for (const key of schema.required ?? []) if (!(key in node)) add(`missing required key "${key}"`);
      if (schema.minProperties !== undefined && keys.length < schema.minProperties) add(`needs one of: ${Object.keys(schema.properties ?? {}).join(', ')}`);
      if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) {
        add(`takes ${schema.maxProperties === 1 ? 'only one' : `at most ${schema.maxProperties}`} of: ${Object.keys(schema.properties ?? {}).join(', ')}`);
      }
      for (const [key, sub] of Object.entries(schema.properties ?? {})) {
        if (key in node) visit(node[key], sub, childPath(path, key));
      }
    }
    if (schema.oneOf !== undefined) {
      const passing = schema.oneOf.filter((branch) => validateAgainstSchema(node, { ...branch, $defs: rootSchema.$defs }).length === 0).length;
      if (passing !== 1) {
        const requiredOnly = schema.oneOf.every((b) => Object.keys(b).length === 1 && b.required?.length === 1);
        add(requiredOnly ? `needs exactly one of: ${schema.oneOf.map((b) => b.required![0]).join(', ')}` : `must match exactly one of ${schema.oneOf.length} forms (${passing} match)`);
      }
    }
  };
  visit(value, rootSchema, '$');
  return problems;
}

function withoutRef(schema: Schema): Schema {
  const { $ref: _ref, ...rest } = schema;
  return rest;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'object':
      return isPlainObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isSafeInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'null':
      return value === null;
    default:
      return false;
  }
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? `the number ${value}` : `the number ${value}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function article(type: string): string {
  return { object: 'a mapping', array: 'a list', string: 'a string', integer: 'a whole number', number: 'a number', boolean: 'true or false', null: 'null' }[type] ?? type;
}

function shownValue(value: unknown): string {
  if (typeof value === 'string') return `, got ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return `, got ${String(value)}`;
  return `, got ${describeType(value)}`;
}

/** ` (did you mean "x"?)` for a key one or two edits from a known key. */
function suggest(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap || a.length > 64 || b.length > 64) return cap;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
