/**
 * Test harness: a real docker-registry (distribution 2.8) on a random loopback port, plus skopeo helpers to push
 * OCI layouts into it and read digests back. Every test file starts its own registry and stops it in afterAll.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface StartRegistryOptions {
  htpasswd?: RegistryCredentials;
  /** Extra YAML appended under the top level `auth:` key instead of htpasswd (e.g. token auth). */
  authYaml?: string;
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  /** `http://127.0.0.1:<port>` */
  url: string;
  rootDirectory: string;
  /** distribution's filesystem storage root (blobs live under docker/registry/v2/blobs). */
  storageDirectory: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1, found by binding port 0 and releasing it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the bound port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.end();
  });
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let delay = 20;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}) before it was ready: ${output()}`);
    }
    const status = await probe(`${url}/v2/`);
    if (status === 200 || status === 401) return;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 250);
  }
  throw new Error(`docker-registry at ${url} was not ready within 20 s: ${output()}`);
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const rootDirectory = await mkdtemp(join(tmpdir(), 'tollgate-registry-'));
  const storage = join(rootDirectory, 'storage');
  await mkdir(storage);
  let lastError: unknown;
  // A port found free can be taken by someone else before the registry binds it: try a few times.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const lines = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(storage)}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
    ];
    if (options.htpasswd) {
      const { stdout } = await execFileAsync('htpasswd', ['-Bbn', options.htpasswd.username, options.htpasswd.password]);
      const file = join(rootDirectory, 'htpasswd');
      await writeFile(file, stdout);
      lines.push('auth:', '  htpasswd:', '    realm: tollgate-test', `    path: ${JSON.stringify(file)}`);
    } else if (options.authYaml) {
      lines.push('auth:', options.authYaml);
    }
    const configPath = join(rootDirectory, 'config.yml');
    await writeFile(configPath, `${lines.join('\n')}\n`);
    const child = spawn('docker-registry', ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitReady(`http://${host}`, child, () => output);
    } catch (error) {
      lastError = error;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      if (/address already in use/.test(output)) continue;
      await rm(rootDirectory, { recursive: true, force: true });
      throw error;
    }
    return {
      host,
      url: `http://${host}`,
      rootDirectory,
      storageDirectory: storage,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        await rm(rootDirectory, { recursive: true, force: true });
      },
    };
  }
  await rm(rootDirectory, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error('could not start docker-registry');
}

function credsArgs(flag: string, creds?: RegistryCredentials): string[] {
  return creds ? [flag, `${creds.username}:${creds.password}`] : [];
}

/** Copies `oci:<layoutDir>:<tag>` to `docker://<registryHost>/<repoAndTag>` with skopeo (plain HTTP). */
export async function pushOciLayout(
  layoutDir: string,
  tag: string,
  registryHost: string,
  repoAndTag: string,
  creds?: RegistryCredentials,
): Promise<void> {
  await execFileAsync(
    'skopeo',
    [
      '--insecure-policy',
      'copy',
      '--quiet',
      '--dest-tls-verify=false',
      ...credsArgs('--dest-creds', creds),
      `oci:${layoutDir}:${tag}`,
      `docker://${registryHost}/${repoAndTag}`,
    ],
    { timeout: 120_000 },
  );
}

/** The manifest digest skopeo reports for `<host>/<repo>[:tag|@digest]`. */
export async function skopeoInspectDigest(refWithHost: string, creds?: RegistryCredentials): Promise<string> {
  const { stdout } = await execFileAsync(
    'skopeo',
    ['inspect', '--tls-verify=false', ...credsArgs('--creds', creds), '--format', '{{.Digest}}', `docker://${refWithHost}`],
    { timeout: 60_000 },
  );
  return stdout.trim();
}
