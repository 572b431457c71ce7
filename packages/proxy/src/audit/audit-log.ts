import { open, type FileHandle } from 'node:fs/promises';
import { TollgateError } from '@tollgate/core';
import type { Logger } from 'pino';
import type { MetadataStore } from '../store/metadata-store.js';
import type { AuditEvent } from './event.js';

/** Keys that must never reach an audit record, whatever a caller passes. */
const SECRET_KEYS = new Set(['password', 'passwordenv', 'token', 'access_token', 'authorization', 'credentials', 'secret']);

function scrub(event: Omit<AuditEvent, 'at'>): Omit<AuditEvent, 'at'> {
  return Object.fromEntries(Object.entries(event).filter(([k]) => !SECRET_KEYS.has(k.toLowerCase()))) as Omit<AuditEvent, 'at'>;
}

/**
 * The audit trail: every event goes to the metadata store and, when `audit.file` is configured, as one JSON line
 * to a file opened with O_APPEND (each line is one write, so concurrent writers never interleave inside a line).
 * A failing write is logged, never turned into a failed pull.
 */
export class AuditLog {
  private queue: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(event: AuditEvent) => void>();

  private constructor(
    private readonly meta: MetadataStore,
    private readonly file: FileHandle | undefined,
    private readonly log: Logger,
  ) {}

  static async open(meta: MetadataStore, file: string | undefined, log: Logger): Promise<AuditLog> {
    let handle: FileHandle | undefined;
    if (file !== undefined) {
      try {
        handle = await open(file, 'a', 0o600);
      } catch (error) {
        throw new TollgateError('INVALID_CONFIG', `cannot open the audit file ${file} for appending (${(error as NodeJS.ErrnoException).code ?? 'error'}); check audit.file and that its directory exists and is writable`, { cause: error });
      }
    }
    return new AuditLog(meta, handle, log);
  }

  /** Records one event; resolves once it is in the store and (if configured) handed to the file. */
  async record(event: Omit<AuditEvent, 'at'>): Promise<AuditEvent | undefined> {
    let stored: AuditEvent;
    try {
      stored = await this.meta.audit(scrub(event));
    } catch (error) {
      this.log.error({ err: error, type: event.type }, 'writing an audit event to the metadata store failed');
      return undefined;
    }
    if (this.file !== undefined) {
      const line = Buffer.from(`${JSON.stringify(stored)}\n`);
      const file = this.file;
      this.queue = this.queue.then(async () => {
        try {
          await file.write(line);
        } catch (error) {
          this.log.error({ err: error }, 'appending to the audit file failed');
        }
      });
      await this.queue;
    }
    for (const listener of this.listeners) {
      try {
        listener(stored);
      } catch (error) {
        this.log.error({ err: error }, 'an audit listener failed');
      }
    }
    return stored;
  }

  /** Calls `listener` with each event once it is stored (the dashboard's diff recorder); returns the unsubscribe. */
  onRecord(listener: (event: AuditEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    await this.queue;
    await this.file?.close();
  }
}
