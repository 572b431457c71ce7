/**
 * A minimal pull-through blob proxy for bench/node-floor-bench.ts: the least a Node process must do to serve a cold
 * blob, in a few variants, so that tollgate's cost can be set against a floor measured on the same machine.
 *
 *   node bench/support/floor-proxy.ts <variant> <port> <upstream url> <data dir>
 *
 * Variants (what happens to each byte between the upstream and the client):
 *  - pipe:          undici's body piped to the response, nothing else (distribution's proxy does about this);
 *  - hash:          + SHA-256 on the main thread, the last chunk held until the digest matched;
 *  - hash-file:     hash + a temp file written as the bytes arrive, fsync + rename after the last byte went out;
 *  - hash-file-sync: hash-file, but the last byte waits for the fsync + rename too, and so that the fsync has only
 *                   the tail left the file is flushed in the background every 4 MiB (both as tollgate does);
 *  - hash-http:     hash, with the upstream read by node:http instead of undici;
 *  - hash-worker:   hash, but on a worker thread (1 MiB batches transferred to it and handed back for reuse).
 * Anything that is not a blob (`/v2/`, manifests) is fetched from the upstream and passed through whole.
 *
 * Run by Node itself (type stripping), so this file imports nothing but Node's modules and undici, by path.
 */
import { createHash } from 'node:crypto';
import { close, createWriteStream, fdatasync, fsync, mkdirSync, openSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { promisify } from 'node:util';
import { Agent as HttpAgent, createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';
import type * as Undici from '../../packages/proxy/node_modules/undici/index.js';

const [variant = '', port = '', upstream = '', dataDir = ''] = process.argv.slice(2);
const VARIANTS = ['pipe', 'hash', 'hash-file', 'hash-file-sync', 'hash-http', 'hash-worker'];
if (!VARIANTS.includes(variant) || port === '' || upstream === '' || dataDir === '') {
  throw new Error(`usage: floor-proxy.ts <${VARIANTS.join('|')}> <port> <upstream url> <data dir>`);
}
const undici = createRequire(join(import.meta.dirname, '../../packages/proxy/package.json'))('undici') as typeof Undici;
// One keep-alive pool per client, as a proxy in service would have.
const dispatcher = new undici.Agent({ connections: 16 });
const httpAgent = new HttpAgent({ keepAlive: true });
const BLOB = /^\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/;

/** The upstream's response to GET `path`: status, headers and body, from undici or (hash-http) node:http. */
async function fetchUpstream(path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: Readable }> {
  if (variant === 'hash-http') {
    const res = await new Promise<IncomingMessage>((resolve, reject) => get(`${upstream}${path}`, { agent: httpAgent, headers }, resolve).on('error', reject));
    return { status: res.statusCode ?? 502, headers: res.headers, body: res };
  }
  const res = await undici.request(`${upstream}${path}`, { dispatcher, headers });
  return { status: res.statusCode, headers: res.headers, body: res.body };
}

/** Hashes on a worker thread: bytes are copied into 1 MiB batches, transferred, and handed back once hashed. */
class WorkerHash {
  static readonly BATCH = 1024 * 1024;
  // Started with the process: this measures the hashing, not the thread's start-up.
  private static readonly worker = variant === 'hash-worker' ? WorkerHash.start() : undefined;
  private static readonly pool: ArrayBuffer[] = [];
  private batch = new Uint8Array(WorkerHash.take());
  private used = 0;
  /** Bytes handed to the worker and not yet hashed: the upstream pauses above a bound, as tollgate's does. */
  backlog = 0;
  private onProgress: () => void = () => undefined;
  private onDigest: (hex: string) => void = () => undefined;

  private static start(): Worker {
    const source = `
      const { parentPort } = require('node:worker_threads');
      const { createHash } = require('node:crypto');
      let hash = createHash('sha256');
      parentPort.on('message', (m) => {
        if (m.buffer === undefined) { parentPort.postMessage({ hex: hash.digest('hex') }); hash = createHash('sha256'); return; }
        hash.update(new Uint8Array(m.buffer, 0, m.length));
        parentPort.postMessage({ buffer: m.buffer, length: m.length }, [m.buffer]);
      });`;
    const worker = new Worker(source, { eval: true });
    // One blob at a time per process in this bench: the current hash gets every message.
    worker.on('message', (m: { buffer?: ArrayBuffer; length?: number; hex?: string }) => WorkerHash.current?.received(m));
    return worker;
  }

  static current: WorkerHash | undefined;

  private static take(): ArrayBuffer {
    return WorkerHash.pool.pop() ?? new ArrayBuffer(WorkerHash.BATCH);
  }

  constructor(onProgress: () => void) {
    WorkerHash.current = this;
    this.onProgress = onProgress;
  }

  private received(m: { buffer?: ArrayBuffer; length?: number; hex?: string }): void {
    if (m.hex !== undefined) return this.onDigest(m.hex);
    WorkerHash.pool.push(m.buffer!);
    this.backlog -= m.length!;
    this.onProgress();
  }

  private flush(): void {
    this.backlog += this.used;
    const buffer = this.batch.buffer as ArrayBuffer;
    WorkerHash.worker!.postMessage({ buffer, length: this.used }, [buffer]);
    this.batch = new Uint8Array(WorkerHash.take());
    this.used = 0;
  }

  update(chunk: Buffer): void {
    for (let at = 0; at < chunk.length; ) {
      const n = Math.min(chunk.length - at, WorkerHash.BATCH - this.used);
      this.batch.set(chunk.subarray(at, at + n), this.used);
      this.used += n;
      at += n;
      if (this.used === WorkerHash.BATCH) this.flush();
    }
  }

  digest(): Promise<string> {
    if (this.used > 0) this.flush();
    return new Promise((resolve) => {
      this.onDigest = resolve;
      WorkerHash.worker!.postMessage({});
    });
  }
}

/**
 * Streams `body` to `res`, hashing every byte and holding the last chunk until the digest matched `digest`; with a
 * temp file (hash-file*), also writes every chunk to it and commits it under the digest's name.
 */
async function hashedCopy(body: Readable, res: ServerResponse, digest: string): Promise<void> {
  const withFile = variant.startsWith('hash-file');
  const temp = join(dataDir, `tmp-${process.pid}-${Date.now()}`);
  // Our own fd (the stream leaves it open) so that the flushes and the final fsync need no second open.
  const fd = withFile ? openSync(temp, 'wx', 0o600) : -1;
  const file = withFile ? createWriteStream(temp, { fd, autoClose: false }) : undefined;
  let held: Buffer | undefined;
  let clientFull = false;
  // hash-file-sync: one background fdatasync at a time, each started once 4 MiB more reached the file.
  let syncedUpTo = 0;
  let syncing: Promise<void> | undefined;
  const flushInBackground = () => {
    if (variant !== 'hash-file-sync' || syncing !== undefined || file!.bytesWritten - syncedUpTo < 4 * 1024 * 1024) return;
    const upTo = file!.bytesWritten;
    syncing = new Promise((resolve) =>
      fdatasync(fd, () => {
        syncing = undefined;
        syncedUpTo = upTo;
        resolve();
      }),
    );
  };
  const maybeResume = () => {
    if (!clientFull && (worker === undefined || worker.backlog < 8 * WorkerHash.BATCH)) body.resume();
  };
  const worker = variant === 'hash-worker' ? new WorkerHash(maybeResume) : undefined;
  const hash = worker === undefined ? createHash('sha256') : undefined;
  res.on('drain', () => {
    clientFull = false;
    maybeResume();
  });
  body.on('data', (chunk: Buffer) => {
    if (hash !== undefined) hash.update(chunk);
    else worker!.update(chunk);
    // The page cache absorbs these writes here; the file never paces the client (nor, in tollgate, does the disk).
    file?.write(chunk);
    flushInBackground();
    if (held !== undefined && !res.write(held)) clientFull = true;
    held = chunk;
    if (clientFull || (worker !== undefined && worker.backlog >= 8 * WorkerHash.BATCH)) body.pause();
  });
  await new Promise<void>((resolve, reject) => body.once('end', resolve).once('error', reject));
  const hex = hash !== undefined ? hash.digest('hex') : await worker!.digest();
  if (`sha256:${hex}` !== digest) {
    res.destroy(new Error(`digest mismatch: sha256:${hex}`));
    return;
  }
  const commit = async () => {
    await syncing; // not closing the fd under a flush in flight
    await new Promise<void>((resolve, reject) => file!.end((error?: Error | null) => (error ? reject(error) : resolve())));
    await promisify(fsync)(fd);
    await promisify(close)(fd);
    await rename(temp, join(dataDir, hex));
  };
  if (variant === 'hash-file-sync') await commit();
  res.end(held);
  if (variant === 'hash-file') await commit();
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers: Record<string, string> = {};
  if (req.headers.accept !== undefined) headers.accept = req.headers.accept;
  const upstreamRes = await fetchUpstream(req.url ?? '/', headers);
  const blob = BLOB.exec(req.url ?? '');
  res.statusCode = upstreamRes.status;
  for (const name of ['content-type', 'content-length', 'docker-content-digest']) {
    const value = upstreamRes.headers[name];
    if (typeof value === 'string') res.setHeader(name, value);
  }
  if (blob === null || upstreamRes.status !== 200 || variant === 'pipe') return pipeline(upstreamRes.body, res);
  return hashedCopy(upstreamRes.body, res, blob[1]!);
}

mkdirSync(dataDir, { recursive: true });
createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    console.error(error);
    res.destroy();
  });
}).listen(Number(port), '127.0.0.1');
