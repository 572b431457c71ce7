/** A real redis-server on a random loopback port, no persistence; stopped with `redis-cli shutdown nosave`. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../support/registry.js';

const execFileAsync = promisify(execFile);

export interface RunningRedis {
  port: number;
  url(db?: number): string;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RunningRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-redis-'));
  const port = await freePort();
  const pidfile = join(dir, 'redis.pid');
  await execFileAsync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidfile, '--dir', dir]);
  // --daemonize returns once the child forked; wait until it answers (redis-cli retries the connection itself).
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), 'ping']);
      if (stdout.trim() === 'PONG') break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
    async stop() {
      await execFileAsync('redis-cli', ['-p', String(port), 'shutdown', 'nosave']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
