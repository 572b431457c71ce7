import type { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { TollgateError } from '@tollgate/core';
import type { Logger } from 'pino';

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/** Certificate files are small; anything bigger is not one. */
const MAX_PEM_BYTES = 1024 * 1024;

async function readPem(file: string, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new TollgateError('INVALID_CONFIG', `cannot read the webhook's TLS ${what} ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}); check tls.${what} in the webhook config`);
  }
  if (bytes.length > MAX_PEM_BYTES) throw new TollgateError('INVALID_CONFIG', `the webhook's TLS ${what} ${file} is over 1 MiB; it is not a PEM file`);
  return bytes;
}

/** Reads the pair and checks that it makes a TLS context (the key matches the certificate). */
export async function readTlsPair(files: TlsFiles): Promise<TlsPair> {
  const [cert, key] = await Promise.all([readPem(files.cert, 'cert'), readPem(files.key, 'key')]);
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new TollgateError('INVALID_CONFIG', `the webhook's TLS cert ${files.cert} and key ${files.key} do not make a usable pair (${(error as Error).message.slice(0, 120)}); give a PEM certificate and its private key`);
  }
  return { cert, key };
}

/**
 * Reads the files again every `intervalMs` and hands a changed pair to `apply`. Rotation (cert-manager, a Secret
 * volume's symlink swap) is seen without a restart and without relying on file events, which a swapped symlink does
 * not always raise. A pair that does not fit together yet (the cert written, the key not) is skipped and tried
 * again next time; the server keeps its last good pair. Emits `tls-reloaded` and `tls-reload-failed`.
 */
export function watchTlsPair(files: TlsFiles, initial: TlsPair, intervalMs: number, apply: (pair: TlsPair) => void, events: EventEmitter, log: Logger): () => void {
  let current = initial;
  let failed: string | undefined;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try {
      const [cert, key] = await Promise.all([readFile(files.cert), readFile(files.key)]);
      if (cert.equals(current.cert) && key.equals(current.key)) return;
      let pair: TlsPair;
      try {
        pair = await readTlsPair(files);
      } catch (error) {
        const message = (error as Error).message;
        // One log line per distinct failure, not one per interval.
        if (failed !== message) log.warn({ component: 'webhook', err: message }, 'webhook TLS files changed but do not make a usable pair; keeping the current certificate');
        failed = message;
        events.emit('tls-reload-failed', message);
        return;
      }
      apply(pair);
      current = pair;
      failed = undefined;
      log.info({ component: 'webhook', cert: files.cert }, 'webhook TLS certificate reloaded');
      events.emit('tls-reloaded');
    } catch (error) {
      const message = `cannot read the TLS files (${(error as NodeJS.ErrnoException).code ?? 'error'})`;
      if (failed !== message) log.warn({ component: 'webhook', cert: files.cert, key: files.key }, `webhook ${message}; keeping the current certificate`);
      failed = message;
      events.emit('tls-reload-failed', message);
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
