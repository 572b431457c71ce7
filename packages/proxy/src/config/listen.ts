import { configError } from './fields.js';

/** Parses `host:port`, `[v6]:port` or `:port` (all interfaces); port 0 picks a free one. */
export function parseListen(value: string, path: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw configError(path, `must be host:port, e.g. 127.0.0.1:5000 or :5000 (got ${JSON.stringify(value.slice(0, 80))})`);
  const host = match[1] ?? (match[2] === '' ? '0.0.0.0' : match[2]!);
  return { host, port };
}
