import { Command } from 'commander';
import { cp, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, OciLayoutWriter, openImage, parseDigest, validateImage, type ValidationResult } from '@tollgate/core';
import { inspectReport } from './inspect.js';
import { formatBytes, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface DemoFlags {
  dir?: string;
  keep: boolean;
}

/** A short offline tour: build an image, inspect it, validate it, corrupt one byte and watch it being named. */
export function demoCommand(): Command {
  return new Command('demo')
    .description('an offline tour: build an image into an OCI layout, inspect and validate it, then corrupt one byte and see it caught')
    .option('--dir <dir>', 'where to write the demo layouts (default: a new temporary directory)')
    .option('--keep', 'keep the demo layouts afterwards', false)
    .action(
      withStatus(async (flags: DemoFlags) => {
        const dir = flags.dir ?? (await mkdtemp(join(tmpdir(), 'tollgate-demo-')));
        try {
          return await runDemo(dir);
        } finally {
          if (!flags.keep && !flags.dir) await rm(dir, { recursive: true, force: true });
        }
      }),
    );
}

async function runDemo(dir: string): Promise<number> {
  const say = (text = '') => writeOut(text);
  const good = join(dir, 'layout');
  const tampered = join(dir, 'layout-tampered');

  say('== 1. Build an image with two layers into an OCI layout');
  const writer = await OciLayoutWriter.create(good);
  const built = await buildImage(writer, {
    tag: 'v1',
    layers: [
      {
        createdBy: 'base files',
        files: [
          { path: 'etc/', type: 'dir' },
          { path: 'etc/os-release', content: 'NAME="tollgate demo"\nID=demo\n' },
          { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n' },
        ],
      },
      {
        createdBy: 'application',
        files: [
          { path: 'app/', type: 'dir', uid: 1000, gid: 1000 },
          { path: 'app/server.js', content: 'console.log("hello from the demo app");\n', uid: 1000, gid: 1000 },
          { path: 'app/config.json', content: '{"listen": 8080}\n', uid: 1000, gid: 1000 },
        ],
      },
    ],
    config: { config: { User: '1000', Entrypoint: ['node', '/app/server.js'], WorkingDir: '/app' } },
  });
  say(`   oci:${good}:v1  ->  ${built.descriptor.digest}`);

  say('\n== 2. tollgate inspect oci:<layout>:v1   (reads manifest and config only)');
  const opened = await openImage(`oci:${good}:v1`);
  const report = await inspectReport(`oci:${good}:v1`, opened);
  say(`   manifest ${report.digest}`);
  say(`   user ${report.image.user}, entrypoint ${JSON.stringify(report.image.entrypoint)}`);
  report.image.layers.forEach((layer, i) => say(`   layer ${i}: ${layer.digest}  ${formatBytes(layer.size)}  diffID ${layer.diffID}`));

  say('\n== 3. tollgate validate oci:<layout>:v1   (every digest recomputed in one pass per layer)');
  const first = await validateImage(opened.image);
  printResult(say, first);

  say('\n== 4. Flip one byte in the middle of layer 1 of a copy, and validate again');
  await cp(good, tampered, { recursive: true });
  const victim = built.layers[1]!;
  const blobFile = join(tampered, 'blobs', 'sha256', parseDigest(victim.digest).hex);
  const handle = await open(blobFile, 'r+');
  try {
    const offset = Math.floor(victim.size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, offset);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, offset);
    say(`   flipped byte ${offset} of ${victim.digest}`);
  } finally {
    await handle.close();
  }
  const second = await validateImage((await openImage(`oci:${tampered}:v1`)).image);
  printResult(say, second);

  const asExpected = first.ok && !second.ok && second.problems.some((p) => p.blob === victim.digest);
  say(
    asExpected
      ? '\nThe untouched image validates; the altered one is refused, with the altered blob named.'
      : '\nUNEXPECTED: the demo did not behave as designed; please report this.',
  );
  return asExpected ? ExitCode.Ok : ExitCode.CheckFailed;
}

function printResult(say: (text?: string) => void, result: ValidationResult): void {
  for (const layer of result.layers) {
    say(`   layer ${layer.index}: ${layer.ok ? 'ok    ' : 'FAILED'} ${layer.fileCount ?? '-'} files, diffID ${layer.diffID ?? '-'}`);
  }
  if (result.ok) say('   OK: manifest, config and every layer verified');
  for (const problem of result.problems) say(`   problem: ${problem.message}`);
}
