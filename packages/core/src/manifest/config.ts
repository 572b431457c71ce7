import type { ContainerConfig, HealthConfig, HistoryEntry, ImageConfig } from '../image/types.js';
import { parseStrictJson } from '../json/strict-json.js';
import {
  asArray,
  asDigest,
  asObject,
  asStringArray,
  asStringMap,
  fieldError,
  joinPath,
  optionalBoolean,
  optionalInteger,
  optionalString,
  type FieldContext,
} from './fields.js';

/** The largest image config tollgate reads. Real ones are kilobytes; long histories stay far below this. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/**
 * Parses an image config (OCI image config or Docker container image v1) strictly: strict JSON, rootfs.type
 * "layers" with diff_ids in the strict digest grammar, and known fields of the right type. Docker writes `null`
 * for empty lists and maps; those are read as absent (Entrypoint, Cmd and Labels keep their null). Returns a clean
 * copy holding only the fields of ImageConfig. Throws INVALID_CONFIG (INVALID_JSON, SIZE_LIMIT for the JSON).
 */
export function parseImageConfig(bytes: Uint8Array, what = 'image config'): ImageConfig {
  const ctx: FieldContext = { what, code: 'INVALID_CONFIG' };
  const doc = asObject(ctx, parseStrictJson(bytes, what, { maxBytes: MAX_CONFIG_BYTES }), '');

  const rootfsObj = asObject(ctx, doc.rootfs, 'rootfs');
  if (rootfsObj.type !== 'layers') {
    throw fieldError(ctx, `rootfs.type must be "layers", got ${JSON.stringify(rootfsObj.type)?.slice(0, 40) ?? 'nothing'}`);
  }
  const diffIds = asArray(ctx, rootfsObj.diff_ids, 'rootfs.diff_ids').map((d, i) => asDigest(ctx, d, `rootfs.diff_ids[${i}]`));
  const config: ImageConfig = { rootfs: { type: 'layers', diff_ids: diffIds } };

  for (const key of ['created', 'author', 'architecture', 'os', 'variant', 'os.version'] as const) {
    const value = optionalString(ctx, doc, key, '');
    if (value !== undefined) config[key] = value;
  }
  if (doc.config !== undefined && doc.config !== null) config.config = readContainerConfig(ctx, doc.config, 'config');
  if (doc.history !== undefined && doc.history !== null) {
    config.history = asArray(ctx, doc.history, 'history').map((h, i) => readHistory(ctx, h, `history[${i}]`));
  }
  return config;
}

function readContainerConfig(ctx: FieldContext, value: unknown, path: string): ContainerConfig {
  const obj = asObject(ctx, value, path);
  const out: ContainerConfig = {};
  for (const key of ['User', 'WorkingDir', 'StopSignal'] as const) {
    const text = optionalString(ctx, obj, key, path);
    if (text !== undefined) out[key] = text;
  }
  if (obj.Env !== undefined && obj.Env !== null) out.Env = asStringArray(ctx, obj.Env, joinPath(path, 'Env'));
  for (const key of ['Entrypoint', 'Cmd'] as const) {
    if (obj[key] === null) out[key] = null;
    else if (obj[key] !== undefined) out[key] = asStringArray(ctx, obj[key], joinPath(path, key));
  }
  for (const key of ['ExposedPorts', 'Volumes'] as const) {
    if (obj[key] !== undefined && obj[key] !== null) out[key] = readSet(ctx, obj[key], joinPath(path, key));
  }
  if (obj.Labels === null) out.Labels = null;
  else if (obj.Labels !== undefined) out.Labels = asStringMap(ctx, obj.Labels, joinPath(path, 'Labels'));
  if (obj.Healthcheck !== undefined && obj.Healthcheck !== null) out.Healthcheck = readHealthcheck(ctx, obj.Healthcheck, joinPath(path, 'Healthcheck'));
  return out;
}

/** Docker's set encoding: keys mapping to empty objects (`{"80/tcp": {}}`). */
function readSet(ctx: FieldContext, value: unknown, path: string): Record<string, object> {
  const obj = asObject(ctx, value, path);
  const out = Object.create(null) as Record<string, object>;
  for (const [key, item] of Object.entries(obj)) out[key] = asObject(ctx, item, joinPath(path, key));
  return { ...out };
}

function readHealthcheck(ctx: FieldContext, value: unknown, path: string): HealthConfig {
  const obj = asObject(ctx, value, path);
  const out: HealthConfig = {};
  if (obj.Test !== undefined && obj.Test !== null) out.Test = asStringArray(ctx, obj.Test, joinPath(path, 'Test'));
  for (const key of ['Interval', 'Timeout', 'StartPeriod', 'Retries'] as const) {
    const n = optionalInteger(ctx, obj, key, path);
    if (n !== undefined) out[key] = n;
  }
  return out;
}

function readHistory(ctx: FieldContext, value: unknown, path: string): HistoryEntry {
  const obj = asObject(ctx, value, path);
  const out: HistoryEntry = {};
  for (const key of ['created', 'created_by', 'author', 'comment'] as const) {
    const text = optionalString(ctx, obj, key, path);
    if (text !== undefined) out[key] = text;
  }
  const empty = optionalBoolean(ctx, obj, 'empty_layer', path);
  if (empty !== undefined) out.empty_layer = empty;
  return out;
}
