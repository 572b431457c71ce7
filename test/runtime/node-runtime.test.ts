import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHECK = fileURLToPath(new URL('../../scripts/check-node.mjs', import.meta.url));

function enginesOf(path: string): string | undefined {
  return (JSON.parse(readFileSync(new URL(path, new URL('../../', import.meta.url)), 'utf8')) as { engines?: { node?: string } }).engines?.node;
}

// npm starts `npm test` with the machine's Node (20 on CI); scripts/node-env.sh must have put a supported one first.
describe('the Node the suite runs on', () => {
  it('is 22 or newer and satisfies engines.node of package.json', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
    const check = spawnSync(process.execPath, [CHECK], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('is the `node` that anything started from the tests finds on PATH', () => {
    const onPath = execFileSync('node', ['-p', 'process.execPath'], { encoding: 'utf8' }).trim();
    expect(realpathSync(onPath)).toBe(realpathSync(process.execPath));
  });

  it('is what every package declares', () => {
    const root = enginesOf('package.json');
    expect(root).toBeDefined();
    for (const pkg of ['core', 'proxy', 'cli']) expect(enginesOf(`packages/${pkg}/package.json`), pkg).toBe(root);
  });

  it('refuses a Node outside the range (the answer set-up relies on to fetch Node 24)', () => {
    // CI's machine Node is 20: check-node.mjs must say no to it. Asked here of this Node posing as 20.20.2.
    const pose = `Object.defineProperty(process.versions, 'node', { value: '20.20.2' }); await import(${JSON.stringify(CHECK)});`;
    const check = spawnSync(process.execPath, ['--input-type=module', '-e', pose], { encoding: 'utf8', cwd: ROOT });
    expect(check.stderr).toContain('Node 20.20.2');
    expect(check.stderr).toContain('is not one tollgate supports');
    expect(check.status).toBe(1);
  });
});
