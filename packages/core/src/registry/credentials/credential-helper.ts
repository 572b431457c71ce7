import { spawn } from 'node:child_process';
import { TollgateError } from '../../errors/tollgate-error.js';
import { oneLine } from '../errors.js';
import type { RegistryCredentials } from './types.js';

const MAX_HELPER_OUTPUT = 64 * 1024;
const HELPER_TIMEOUT_MS = 30_000;
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Runs `docker-credential-<name> get` with the server URL on stdin, as the docker CLI does, and reads
 * `{"ServerURL","Username","Secret"}` from stdout. Undefined when the helper says it has nothing for this server.
 * Output is bounded, the helper is killed after a timeout, and its output never appears in an error message.
 */
export async function runCredentialHelper(name: string, serverUrl: string, options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RegistryCredentials | undefined> {
  if (!HELPER_NAME.test(name)) {
    throw new TollgateError('CREDENTIALS', `credential helper name ${JSON.stringify(oneLine(name, 64))} is not valid; fix credsStore/credHelpers in the docker config`);
  }
  const program = `docker-credential-${name}`;
  const result = await new Promise<{ code: number | null; stdout: Buffer; stderr: Buffer; failure?: Error }>((resolve) => {
    // Its own process group, so a helper that hangs is killed with whatever it started.
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env, detached: process.platform !== 'win32' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outSize = 0;
    let errSize = 0;
    let failure: Error | undefined;
    let settled = false;
    const finish = (code: number | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err), ...(failure ? { failure } : {}) });
    };
    const kill = (reason: string) => {
      failure ??= new Error(reason);
      try {
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      child.stdout.destroy();
      child.stderr.destroy();
      finish(null);
    };
    const timer = setTimeout(() => kill('timeout'), options.timeoutMs ?? HELPER_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      outSize += chunk.length;
      if (outSize > MAX_HELPER_OUTPUT) {
        kill('output too large');
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errSize += chunk.length;
      if (errSize <= 4096) err.push(chunk);
    });
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      failure ??= error;
      finish(null);
    });
    child.on('close', (code) => finish(code));
    child.stdin.end(serverUrl);
  });
  if (result.failure) {
    if ((result.failure as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new TollgateError('CREDENTIALS', `credential helper ${program} was not found on PATH; install it or remove it from the docker config (credsStore/credHelpers)`);
    }
    throw new TollgateError('CREDENTIALS', `credential helper ${program} failed (${oneLine(result.failure.message, 80)}); run "${program} get" by hand to check it`);
  }
  const stdout = result.stdout.toString('utf8');
  if (result.code !== 0) {
    // The helper protocol reports a missing entry as a failure with this text.
    if (/credentials not found/i.test(stdout) || /credentials not found/i.test(result.stderr.toString('utf8'))) return undefined;
    throw new TollgateError('CREDENTIALS', `credential helper ${program} exited with status ${result.code}; run "${program} get" by hand to check it`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new TollgateError('CREDENTIALS', `credential helper ${program} printed something that is not JSON; check the helper`);
  }
  if (typeof doc !== 'object' || doc === null) {
    throw new TollgateError('CREDENTIALS', `credential helper ${program} printed JSON without Username/Secret; check the helper`);
  }
  const { Username: username, Secret: secret } = doc as { Username?: unknown; Secret?: unknown };
  if (typeof username !== 'string' || typeof secret !== 'string') {
    throw new TollgateError('CREDENTIALS', `credential helper ${program} printed JSON without Username/Secret strings; check the helper`);
  }
  if (secret === '') return undefined;
  if (username === '<token>') return { identityToken: secret };
  return { username, password: secret };
}
