/**
 * A proxy replica as operators run it: the built `tollgate proxy serve --config` in its own process (so a test can
 * kill -9 it), JSON logs collected, the URL read from the `listening` log line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/tollgate.js', import.meta.url));

export interface Replica {
  url: string;
  host: string;
  process: ChildProcess;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
  /** SIGTERM and wait (graceful); SIGKILL with `kill -9`. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startReplica(configPath: string, env: NodeJS.ProcessEnv = {}): Promise<Replica> {
  const child = spawn(process.execPath, [BIN, 'proxy', 'serve', '--config', configPath, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const logs: Record<string, unknown>[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (entry.msg === 'tollgate proxy listening') resolve(entry.url as string);
    });
    child.once('exit', (code, signal) => reject(new Error(`replica exited (${code ?? signal}) before listening: ${stderr.slice(-2000)}`)));
  });
  return {
    url,
    host: url.replace(/^http:\/\//, ''),
    process: child,
    logs,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
