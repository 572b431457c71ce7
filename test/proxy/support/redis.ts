/**
 * A real redis-server on a random loopback port, no persistence; stopped with `redis-cli shutdown nosave`. It can be
 * shut down and started again on the same port (an outage), frozen with SIGSTOP (a server that accepts but never
 * answers), and asked things with redis-cli.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../support/registry.js';

const execFileAsync = promisify(execFile);

export interface RunningRedis {
  port: number;
  url(db?: number): string;
  /** redis-cli against database `db`; its output, trimmed. */
  cli(db: number, ...args: string[]): Promise<string>;
  /** Shuts the server down (its data is lost); start() brings up an empty one on the same port. */
  shutdown(): Promise<void>;
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(options: { password?: string } = {}): Promise<RunningRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-redis-'));
  const port = await freePort();
  const pidfile = join(dir, 'redis.pid');
  const auth = options.password !== undefined ? ['-a', options.password, '--no-auth-warning'] : [];
  const cli = async (...args: string[]) => (await execFileAsync('redis-cli', ['-p', String(port), ...auth, ...args])).stdout.trim();
  const pid = async () => Number((await readFile(pidfile, 'utf8')).trim());

  async function start(): Promise<void> {
    const password = options.password !== undefined ? ['--requirepass', options.password] : [];
    await execFileAsync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidfile, '--dir', dir, ...password]);
    // --daemonize returns once the child forked; wait until it answers (redis-cli retries the connection itself).
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        if ((await cli('ping')) === 'PONG') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function resume(): Promise<void> {
    process.kill(await pid(), 'SIGCONT');
  }

  await start();
  return {
    port,
    url: (db = 0) => `redis://${options.password !== undefined ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}/${db}`,
    cli: (db, ...args) => cli('-n', String(db), ...args),
    async shutdown() {
      await cli('shutdown', 'nosave').catch(() => undefined);
      // redis-cli returns once the server closed its connection, on its way out: wait until the port is free.
      const deadline = Date.now() + 10_000;
      while (await cli('ping').then(() => true, () => false)) {
        if (Date.now() > deadline) throw new Error(`redis-server on port ${port} still answers after SHUTDOWN`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    start,
    async pause() {
      process.kill(await pid(), 'SIGSTOP');
    },
    resume,
    async stop() {
      await resume().catch(() => undefined);
      await cli('shutdown', 'nosave').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
