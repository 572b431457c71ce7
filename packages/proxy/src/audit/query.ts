import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { TollgateError } from '@tollgate/core';
import picomatch from 'picomatch';
import type { ProxyConfig } from '../config/types.js';
import { storePaths } from '../store/gc.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { openMetadataStore } from '../store/open-metadata-store.js';
import type { AuditEvent, AuditQuery } from './event.js';

export const DEFAULT_AUDIT_LIMIT = 1000;
/** Audit lines longer than this are not events the proxy wrote. */
const MAX_LINE = 1024 * 1024;
/** Whether an event passes the filters (time window, both ends inclusive; image glob; verdict). */
export function auditMatcher(query: AuditQuery): (event: AuditEvent) => boolean {
  const glob = query.image !== undefined ? picomatch(query.image, { dot: true }) : undefined;
  return (event) => {
    if (query.since !== undefined && !(event.at >= query.since)) return false;
    if (query.until !== undefined && !(event.at <= query.until)) return false;
    if (query.verdict !== undefined && event.verdict !== query.verdict) return false;
    if (glob !== undefined && !imageNames(event).some((name) => glob(name))) return false;
    return true;
  };
}

/** `<upstream>/<repository>` and `<repository>`, each also with `@<digest>` and `:<tag>` when known. */
function namesOf(upstream: unknown, repository: unknown, digest: unknown, reference: unknown): string[] {
  if (typeof repository !== 'string') return [];
  const names = typeof upstream === 'string' ? [`${upstream}/${repository}`, repository] : [repository];
  const out = [...names];
  for (const n of names) {
    if (typeof digest === 'string') out.push(`${n}@${digest}`);
    if (typeof reference === 'string' && !reference.includes(':')) out.push(`${n}:${reference}`);
  }
  return out;
}

/**
 * What `--image` is matched against. Most events name one image (upstream, repository, digest, reference). An
 * `admission` event names several: each image the proxy routed (`targets`: upstream, repository, admitted digest),
 * the images as the object named them, and what the mutating webhook pinned them to.
 */
function imageNames(event: AuditEvent): string[] {
  if (event.type !== 'admission') return namesOf(event.upstream, event.repository, event.digest, event.reference);
  const out: string[] = [];
  for (const target of Array.isArray(event.targets) ? (event.targets as Record<string, unknown>[]) : []) {
    if (typeof target === 'object' && target !== null) out.push(...namesOf(target.upstream, target.repository, target.digest, undefined));
  }
  for (const image of Array.isArray(event.images) ? event.images : []) if (typeof image === 'string') out.push(image);
  for (const pin of Array.isArray(event.pins) ? (event.pins as Record<string, unknown>[]) : []) if (typeof pin?.to === 'string') out.push(pin.to);
  return out;
}

/** The newest `limit` matching events from a store, oldest first. */
export async function queryAuditStore(meta: MetadataStore, query: AuditQuery): Promise<AuditEvent[]> {
  const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
  const match = auditMatcher(query);
  const out: AuditEvent[] = [];
  // The store reads only the window (a key or stream id range), not everything after it.
  const range = { ...(query.since !== undefined ? { since: query.since } : {}), ...(query.until !== undefined ? { until: query.until } : {}) };
  for await (const event of meta.scanAudit(range)) {
    if (out.length >= limit) break;
    if (match(event)) out.push(event);
  }
  return out.reverse();
}

/**
 * The newest `limit` matching events of a JSON-lines audit file (read as a stream), oldest first. The file is read
 * whole: its lines are in the order they were written, which a clock set back breaks, so the window filters rather
 * than stops the read.
 */
export async function queryAuditFile(file: string, query: AuditQuery): Promise<AuditEvent[]> {
  try {
    await stat(file);
  } catch {
    throw new TollgateError('NOT_FOUND', `cannot read the audit file ${file}; check audit.file in the proxy config`);
  }
  const limit = query.limit ?? DEFAULT_AUDIT_LIMIT;
  const match = auditMatcher(query);
  const out: AuditEvent[] = [];
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.length === 0 || line.length > MAX_LINE) continue;
    let event: AuditEvent;
    try {
      event = JSON.parse(line) as AuditEvent;
    } catch {
      continue; // a torn last line after a crash
    }
    if (typeof event !== 'object' || event === null || typeof event.at !== 'number' || !match(event)) continue;
    out.push(event);
    if (out.length > limit) out.shift();
  }
  return out;
}

/**
 * Reads the audit trail of a proxy: from its metadata store, or — when the level store is held by the running
 * proxy — from its `audit.file`. Events come oldest first.
 */
export async function queryAudit(config: ProxyConfig, query: AuditQuery): Promise<{ events: AuditEvent[]; source: string }> {
  const paths = storePaths(config.dataDir);
  if (config.store.metadata.kind === 'level') {
    try {
      await stat(paths.meta);
    } catch {
      throw new TollgateError('NOT_FOUND', `no proxy metadata in ${paths.meta}; check --data (the proxy's dataDir)`);
    }
  }
  let meta: MetadataStore;
  try {
    meta = await openMetadataStore(config.store.metadata, paths.meta, config.dataDir);
  } catch (error) {
    if (config.store.metadata.kind === 'level' && config.audit.file !== undefined) {
      return { events: await queryAuditFile(config.audit.file, query), source: config.audit.file };
    }
    if (config.store.metadata.kind === 'level') {
      throw new TollgateError('STORE_ERROR', `cannot open the proxy metadata in ${paths.meta}: a running proxy holds it (level allows one process); configure audit.file (a JSON-lines copy) or stop the proxy`, { cause: error });
    }
    throw error;
  }
  try {
    return { events: await queryAuditStore(meta, query), source: meta.kind === 'level' ? paths.meta : 'redis' };
  } finally {
    await meta.close();
  }
}
