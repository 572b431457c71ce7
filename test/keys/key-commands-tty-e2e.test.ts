import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readPrivateKey } from '../../packages/core/src/index.js';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/tollgate.js', import.meta.url));

interface PtyResult {
  code: number;
  output: string;
}

/**
 * Runs the built CLI on a real pseudo-terminal (util-linux `script`) and answers each prompt when it appears:
 * the next answer is typed only after the prompt text has arrived, so the test follows the program, not a clock.
 */
function runInPty(args: string[], cwd: string, answers: string[]): Promise<PtyResult> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let prompts = 0;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const seen = output.split('Enter password').length - 1;
      while (prompts < seen && prompts < answers.length) child.stdin.write(`${answers[prompts++]}\r`);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.destroy();
      resolve({ code: code ?? -1, output });
    });
  });
}

describe('password prompts on a terminal', () => {
  let root: string;
  let n = 0;
  const freshDir = async (): Promise<string> => {
    const dir = join(root, `tty-${n++}`);
    await mkdir(dir);
    return dir;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'tollgate-keys-tty-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('asks twice without echo, and encrypts with what was typed', async () => {
    const cwd = await freshDir();
    const result = await runInPty(['generate-key-pair'], cwd, ['typed-secret-42', 'typed-secret-42']);
    expect(result.code).toBe(0);
    expect(result.output).toMatch(/Enter password for private key: [\s\S]*Enter password for private key again: /);
    expect(result.output).toMatch(/Private key written to cosign\.key/);
    expect(result.output).not.toContain('typed-secret-42');
    expect((await stat(join(cwd, 'cosign.key'))).mode & 0o777).toBe(0o600);
    await expect(readPrivateKey(await readFile(join(cwd, 'cosign.key')), 'typed-secret-42')).resolves.toBeDefined();
  });

  it('refuses when the two entries differ, writing nothing', async () => {
    const cwd = await freshDir();
    const result = await runInPty(['generate-key-pair'], cwd, ['first', 'second']);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/do not match/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('refuses an empty typed password (empty must be set explicitly)', async () => {
    const cwd = await freshDir();
    const result = await runInPty(['generate-key-pair'], cwd, ['']);
    expect(result.code).toBe(2);
    expect(result.output).toMatch(/empty password: .*TOLLGATE_PASSWORD=/);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('public-key asks for the password of an encrypted key', async () => {
    const cwd = await freshDir();
    expect((await runInPty(['generate-key-pair'], cwd, ['k-pass', 'k-pass'])).code).toBe(0);
    const result = await runInPty(['public-key', '--key', 'cosign.key'], cwd, ['k-pass']);
    expect(result.code).toBe(0);
    expect(result.output.replaceAll('\r\n', '\n')).toContain(await readFile(join(cwd, 'cosign.pub'), 'utf8'));
    const wrong = await runInPty(['public-key', '--key', 'cosign.key'], cwd, ['nope']);
    expect(wrong.code).toBe(2);
    expect(wrong.output).toMatch(/wrong password or corrupted key/);
  });
});
