import type { ImageConfig } from '../image/types.js';
import { isRootUser } from './security-flags.js';
import type { ConfigChange } from './types.js';

/** JSON with sorted object keys, so equal values compare equal whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
    }
    return v;
  });
}

/** null, undefined (and, semantically, empty lists and objects) all mean "not set". */
function normalise(value: unknown, semantic: boolean): unknown {
  if (value === null || value === undefined) return undefined;
  if (semantic && Array.isArray(value) && value.length === 0) return undefined;
  if (semantic && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return undefined;
  return value;
}

function push(out: ConfigChange[], field: string, before: unknown, after: unknown, semantic: boolean): void {
  const x = normalise(before, semantic);
  const y = normalise(after, semantic);
  if (canonicalJson(x) === canonicalJson(y)) return;
  const change: ConfigChange = { field, flags: [] };
  if (x !== undefined) change.before = x;
  if (y !== undefined) change.after = y;
  out.push(change);
}

/** Env as NAME → value; a later duplicate wins, as in Docker. Entries without '=' map to ''. */
function envMap(env: readonly string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of env ?? []) {
    const eq = item.indexOf('=');
    if (eq < 0) out.set(item, '');
    else out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

function keyed<V>(field: string, a: Map<string, V>, b: Map<string, V>, out: ConfigChange[], semantic: boolean): void {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const key of keys) push(out, `${field}[${key}]`, a.get(key), b.get(key), semantic);
}

function sortedKeys(value: Record<string, unknown> | undefined | null): string[] | undefined {
  return value ? Object.keys(value).sort() : undefined;
}

/**
 * Config differences, field by field: platform (os, architecture, variant, os.version), author, created, and the
 * runtime config (User, Entrypoint, Cmd, Env per variable, WorkingDir, ExposedPorts, Volumes, Labels per key,
 * StopSignal, Healthcheck), then history. With `semantic`, `created` and history are ignored and empty values
 * equal unset ones. rootfs is the layers section's business.
 */
export function diffConfig(a: ImageConfig, b: ImageConfig, semantic: boolean): ConfigChange[] {
  const out: ConfigChange[] = [];
  for (const field of ['os', 'architecture', 'variant', 'os.version', 'author'] as const) push(out, field, a[field], b[field], semantic);
  if (!semantic) push(out, 'created', a.created, b.created, semantic);
  const ca = a.config ?? {};
  const cb = b.config ?? {};
  push(out, 'config.User', ca.User, cb.User, semantic);
  push(out, 'config.Entrypoint', ca.Entrypoint, cb.Entrypoint, semantic);
  push(out, 'config.Cmd', ca.Cmd, cb.Cmd, semantic);
  keyed('config.Env', envMap(ca.Env), envMap(cb.Env), out, semantic);
  push(out, 'config.WorkingDir', ca.WorkingDir, cb.WorkingDir, semantic);
  push(out, 'config.ExposedPorts', sortedKeys(ca.ExposedPorts), sortedKeys(cb.ExposedPorts), semantic);
  push(out, 'config.Volumes', sortedKeys(ca.Volumes), sortedKeys(cb.Volumes), semantic);
  keyed('config.Labels', new Map(Object.entries(ca.Labels ?? {})), new Map(Object.entries(cb.Labels ?? {})), out, semantic);
  push(out, 'config.StopSignal', ca.StopSignal, cb.StopSignal, semantic);
  push(out, 'config.Healthcheck', ca.Healthcheck, cb.Healthcheck, semantic);
  if (!semantic) push(out, 'history', a.history, b.history, semantic);
  for (const change of out) {
    if (change.field === 'config.User' && isRootUser(change.after as string | undefined) && !isRootUser(change.before as string | undefined)) {
      change.flags.push('user-root');
    }
  }
  return out;
}
