import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../packages/cli/bin/tollgate.js', import.meta.url));

describe('a reader that closes its end of the pipe (tollgate … | head)', () => {
  it('ends tollgate quietly, without a stack trace', async () => {
    const child = spawn(process.execPath, [BIN, 'sign', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before node has even started: the first write to stdout fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
