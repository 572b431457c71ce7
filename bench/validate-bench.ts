/**
 * `tollgate validate` (blob digest + diffID + full file index for every layer, in one pass per layer) against what a
 * user would run instead on the same blobs in the same run: `gzip -dc | sha256sum` per layer (the diffID alone) and
 * `sha256sum` (the blob digests alone). Also the peak RSS of validating a ~1 GB (uncompressed) layer.
 *
 * Run: pnpm exec tsx bench/validate-bench.ts   (after `npm run demo` or `pnpm build`; RUNS=n for best-of-n)
 *
 * Images (built once under bench/.work/validate and reused):
 *  - debian:  a debootstrapped Debian 12 minbase rootfs as one gzip layer (falls back to /usr/share when
 *             debootstrap is not available);
 *  - multi:   four gzip layers from this machine's /usr (bin, include, sbin+libexec, share);
 *  - big:     one ~1 GB-uncompressed gzip layer from /usr/lib, for throughput and memory.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeGzipLayer, makeLayoutImage, sh, type GzipLayer as LayerFile } from './support/layers.js';

const ROOT = join(import.meta.dirname, '..');
const WORK = join(import.meta.dirname, '.work', 'validate');
const CLI = join(ROOT, 'packages/cli/bin/tollgate.js');
const RUNS = Number(process.env.RUNS ?? 3);



const makeLayer = (name: string, tarCommand: string): LayerFile => makeGzipLayer(WORK, name, tarCommand);

const makeImage = (name: string, layers: LayerFile[]): Promise<string> => makeLayoutImage(WORK, name, layers);

function timed(fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

/** Wall time (best of RUNS) and peak RSS of `tollgate validate`. */
function validate(reference: string, concurrency: number): { seconds: number; rssMB: number } {
  let seconds = Infinity;
  let rssMB = 0;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const result = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, CLI, 'validate', '--no-cache', '--json', '--concurrency', String(concurrency), reference], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const elapsed = (performance.now() - t0) / 1000;
    if (result.status !== 0) throw new Error(`validate failed: ${result.stderr}`);
    if (!JSON.parse(result.stdout).ok) throw new Error(`validate reported problems for ${reference}`);
    seconds = Math.min(seconds, elapsed);
    rssMB = Math.max(rssMB, Number(result.stderr.trim().split('\n').pop()) / 1024);
  }
  return { seconds, rssMB };
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const debianRoot = join(import.meta.dirname, '.work', 'rootfs-debian');
  const haveDebian = existsSync(join(debianRoot, 'etc/debian_version'));
  if (!haveDebian) console.error('no debootstrapped rootfs at bench/.work/rootfs-debian (run: debootstrap --variant=minbase bookworm bench/.work/rootfs-debian); using /usr/share instead');
  const debian = makeLayer('debian', haveDebian ? `tar --numeric-owner -C '${debianRoot}' -cf - .` : `tar -C / -cf - usr/share 2>/dev/null`);
  const multi = [
    makeLayer('usr-bin', 'tar -C / -cf - usr/bin 2>/dev/null'),
    makeLayer('usr-include', 'tar -C / -cf - usr/include 2>/dev/null'),
    makeLayer('usr-sbin-libexec', 'tar -C / -cf - usr/sbin usr/libexec 2>/dev/null'),
    makeLayer('usr-share', 'tar -C / -cf - usr/share 2>/dev/null'),
  ];
  const bigDirs = execFileSync('bash', ['-c', 'cd / && du -sk usr/lib/* 2>/dev/null | sort -n -r'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.split('\t'));
  const picked: string[] = [];
  let total = 0;
  for (const [kb, dir] of bigDirs) {
    if (total >= 1000 * 1024) break;
    if (Number(kb) > 1100 * 1024) continue;
    picked.push(dir!);
    total += Number(kb);
  }
  const big = makeLayer('big', `tar -C / -cf - ${picked.map((d) => `'${d}'`).join(' ')} 2>/dev/null`);

  const images = [
    { name: haveDebian ? 'debian (debootstrap minbase, 1 layer)' : 'usr/share (1 layer)', layers: [debian], ref: await makeImage('debian', [debian]) },
    { name: 'multi (4 layers of /usr)', layers: multi, ref: await makeImage('multi', multi) },
    { name: 'big (1 layer, ~1 GB tar)', layers: [big], ref: await makeImage('big', [big]) },
  ];

  const rows: string[] = [];
  for (const image of images) {
    const compressed = image.layers.reduce((s, l) => s + statSync(l.gz).size, 0);
    const uncompressed = Number(sh(`for f in ${image.layers.map((l) => `'${l.gz}'`).join(' ')}; do gzip -l "$f" | tail -1; done | awk '{s+=$2} END {print s}'`).trim());
    const gzipSha = timed(() => {
      for (const layer of image.layers) sh(`gzip -dc '${layer.gz}' | sha256sum > /dev/null`);
    });
    const shaOnly = timed(() => sh(`sha256sum ${image.layers.map((l) => `'${l.gz}'`).join(' ')} > /dev/null`));
    const one = validate(image.ref, 1);
    const two = validate(image.ref, 2);
    const mb = uncompressed / 1e6;
    rows.push(
      `| ${image.name} | ${(compressed / 1e6).toFixed(0)} MB / ${mb.toFixed(0)} MB | ${gzipSha.toFixed(2)} s | ${shaOnly.toFixed(2)} s | ` +
        `${one.seconds.toFixed(2)} s (${(gzipSha / one.seconds).toFixed(2)}×) | ${two.seconds.toFixed(2)} s (${(gzipSha / two.seconds).toFixed(2)}×) | ${Math.max(one.rssMB, two.rssMB).toFixed(0)} MB |`,
    );
    console.error(rows.at(-1));
  }
  const header =
    '| image | compressed / tar | `gzip -dc \\| sha256sum` | `sha256sum` (blobs) | validate, 1 layer at a time (ratio) | validate, 2 at a time (ratio) | peak RSS |\n|---|---|---|---|---|---|---|';
  const report = `${header}\n${rows.join('\n')}`;
  console.log(report);
  writeFileSync(join(WORK, 'last-result.md'), `${report}\n`);
}

await main();
