import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, OciLayoutWriter } from '@tollgate/core';
import { runCli, type CliResult } from '../support/cli.js';

const PROBE = fileURLToPath(new URL('../support/module-probe.mjs', import.meta.url));

/**
 * Libraries that cost start-up time and memory and that commands load only when they need them (see
 * docs/benchmarks.md, "CLI start-up"). A command that needs none of them must load none of them.
 */
const LAZY_PACKAGES = [
  '@sigstore/bundle', '@sigstore/core', '@sigstore/protobuf-specs', '@sigstore/verify', '@sigstore/sign', '@sigstore/tuf',
  'tuf-js', 'yaml', 'level', 'classic-level', 'tweetnacl', 'picomatch', 'tar-stream', 'cli-progress', 'zstd-napi',
  'undici', 'jose', '@bufbuild/cel', '@peculiar/asn1-schema', 'asn1js',
];

function packagesIn(paths: readonly string[], names: readonly string[]): string[] {
  return names.filter((name) => paths.some((path) => path.includes(`/node_modules/${name}/`)));
}

/** Runs the built CLI under the module probe and returns its result and every module file it loaded. */
async function runProbed(work: string, args: string[]): Promise<CliResult & { loaded: string[] }> {
  const log = join(work, `modules-${args[0]}-${Date.now()}.log`);
  const result = await runCli(args, { env: { NODE_OPTIONS: `--import=${PROBE}`, TOLLGATE_MODULE_LOG: log } });
  const loaded = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  return { ...result, loaded };
}

describe('tollgate start-up loads only what the command needs', () => {
  let work: string;
  let digest: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'tollgate-startup-'));
    const writer = await OciLayoutWriter.create(join(work, 'layout'));
    const built = await buildImage(writer, { tag: 'v1', layers: [{ files: [{ path: 'etc/os-release', content: 'ID=startup\n' }] }] });
    digest = built.descriptor.digest;
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('--version loads no Sigstore, TUF, YAML, store or HTTP library, and not the proxy', async () => {
    const run = await runProbed(work, ['--version']);
    expect(run.code).toBe(0);
    expect(packagesIn(run.loaded, ['commander'])).toEqual(['commander']); // the probe saw the command line parser
    expect(packagesIn(run.loaded, LAZY_PACKAGES)).toEqual([]);
    expect(run.loaded.filter((path) => path.includes('/packages/proxy/'))).toEqual([]);
    // nor core, nor any command's module (main() imports the module of the command it runs, and none for --version)
    expect(run.loaded.filter((path) => path.includes('/packages/core/') || path.includes('/cli/dist/commands/'))).toEqual([]);
  });

  it('digest of an OCI layout loads none of them either', async () => {
    const run = await runProbed(work, ['digest', `oci:${join(work, 'layout')}:v1`]);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim()).toBe(digest);
    expect(run.loaded.some((path) => path.endsWith('/oci-layout-source.js'))).toBe(true);
    expect(run.loaded.filter((path) => path.includes('/cli/dist/commands/')).map((path) => path.replace(/.*\//, ''))).toEqual(['digest.js']);
    expect(packagesIn(run.loaded, LAZY_PACKAGES)).toEqual([]);
    expect(run.loaded.filter((path) => path.includes('/packages/proxy/'))).toEqual([]);
  });

  it('the probe does see a library required lazily: policy lint loads yaml', async () => {
    const policy = join(work, 'policy.yaml');
    await writeFile(policy, 'version: 1\n');
    const run = await runProbed(work, ['policy', 'lint', policy]);
    expect(packagesIn(run.loaded, ['yaml'])).toEqual(['yaml']);
    expect(packagesIn(run.loaded, ['tuf-js', 'level'])).toEqual([]);
  });
});
