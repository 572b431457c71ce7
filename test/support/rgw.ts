/**
 * Test harness: a real Ceph RGW (monitor + memstore OSD + radosgw, scripts/ceph-rgw.sh) on random loopback ports in
 * a temp directory. Starting takes 10-20 s, so a test file starts one in beforeAll and uses a bucket per test.
 * The daemons fork away from the test process; they are stopped by stop(), by an 'exit' handler, and by a
 * watchdog that outlives a killed test process, so that no run leaves them behind.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './registry.js';

const execFileAsync = promisify(execFile);
const SCRIPT = fileURLToPath(new URL('../../scripts/ceph-rgw.sh', import.meta.url));

export interface RunningRgw {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A client with the user's keys (path style, no checksum trailers RGW refuses). */
  client: S3Client;
  /** How long the daemons took to answer S3 requests. */
  startMs: number;
  /** Creates a bucket; returns its name. */
  createBucket(name?: string): Promise<string>;
  /** Stops the daemons (SIGTERM, then SIGKILL) and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

let buckets = 0;

function outputOf(error: unknown): string {
  const e = error as { stderr?: string; stdout?: string; message?: string };
  return `${e.stderr ?? ''}${e.stdout ?? ''}`.trim().slice(-4000) || (e.message ?? String(error));
}

function downSync(dir: string): void {
  try {
    execFileSync('bash', [SCRIPT, 'down', dir], { stdio: 'ignore', timeout: 30_000 });
  } catch {
    // Best effort at exit: the watchdog tries again.
  }
}

/** A detached shell that stops the daemons once this process is gone, however it ended (SIGKILL included). */
function startWatchdog(dir: string, root: string): () => void {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 2; done; bash "$1" down "$2"; rm -rf "$3"`;
  const child = spawn('bash', ['-c', script, 'rgw-watchdog', SCRIPT, dir, root], { detached: true, stdio: 'ignore' });
  child.unref();
  return () => {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid);
      } catch {
        // Already gone.
      }
    }
  };
}

async function answersS3(client: S3Client, deadline: number): Promise<void> {
  let delay = 100;
  for (;;) {
    try {
      await client.send(new ListBucketsCommand({}));
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`RGW started but does not answer S3 requests: ${(error as Error).name}: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 1000);
  }
}

export async function startRgw(): Promise<RunningRgw> {
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), 'tollgate-rgw-'));
  const dir = join(root, 'ceph');
  const onExit = () => downSync(dir);
  process.on('exit', onExit);
  const stopWatchdog = startWatchdog(dir, root);
  const cleanUp = async () => {
    process.off('exit', onExit);
    await execFileAsync('bash', [SCRIPT, 'down', dir], { timeout: 30_000 }).catch(() => undefined);
    stopWatchdog();
    await rm(root, { recursive: true, force: true });
  };

  let stdout = '';
  // A port found free can be taken before the daemons bind it: try again with new ports.
  for (let attempt = 1; ; attempt++) {
    const rgwPort = await freePort();
    let monPort = await freePort();
    while (monPort === rgwPort) monPort = await freePort();
    try {
      ({ stdout } = await execFileAsync('bash', [SCRIPT, 'up', dir, String(rgwPort), String(monPort)], { timeout: 150_000 }));
      break;
    } catch (error) {
      const output = outputOf(error);
      await execFileAsync('bash', [SCRIPT, 'down', dir], { timeout: 30_000 }).catch(() => undefined);
      if (attempt < 3 && /address already in use/i.test(output)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      await cleanUp();
      throw new Error(`Ceph RGW did not start (scripts/ceph-rgw.sh up; run scripts/test-deps.sh if the Ceph packages are missing):\n${output}`);
    }
  }

  const field = (name: string) => {
    const value = new RegExp(`^${name}=(.+)$`, 'm').exec(stdout)?.[1];
    if (value === undefined) throw new Error(`scripts/ceph-rgw.sh up printed no ${name}=: ${stdout}`);
    return value;
  };
  const endpoint = field('endpoint');
  const accessKeyId = field('access');
  const secretAccessKey = field('secret');
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
  try {
    await answersS3(client, Date.now() + 30_000);
  } catch (error) {
    client.destroy();
    await cleanUp();
    throw error;
  }

  let stopped = false;
  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    client,
    startMs: Date.now() - started,
    async createBucket(name = `tollgate-${process.pid}-${++buckets}`) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      client.destroy();
      await cleanUp();
    },
  };
}
