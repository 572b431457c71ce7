/**
 * `tollgate validate` (blob digest + diffID + full file index for every layer, in one pass per layer) against what a
 * user would run instead on the same blobs in the same run: `gzip -dc | sha256sum` per layer (the diffID alone),
 * `pigz -dc > /dev/null` per layer (decompression alone, the floor) and `sha256sum` (the blob digests alone).
 * Also the peak RSS of validating a ~1 GB (uncompressed) layer.
 *
 * Run: pnpm exec tsx bench/validate-bench.ts   (after `npm run demo` or `pnpm build`)
 *
 * Knobs: RUNS=n (default 5; every figure is the median of n runs, the runs of all commands interleaved);
 * IMAGES=small,debian (default all); TOLLGATE_CLI=<bin> measures another build, TOLLGATE_CLI_B=<bin> adds a second
 * build to compare in the same run (e.g. a baseline checkout: git worktree add ../base <rev> && pnpm build there).
 * Each validate figure also gives its CPU time (user+sys, all threads and child processes): on a busy machine
 * wall times move with other work, CPU time much less.
 *
 * Images (built once under bench/.work/validate and reused):
 *  - small:   one layer of many small files: this machine's /usr/lib/gcc, /usr/include and /usr/share/doc;
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
const RUNS = Number(process.env.RUNS ?? 5);
const BUILDS = [
  { name: process.env.TOLLGATE_CLI_B ? 'A' : '', cli: process.env.TOLLGATE_CLI ?? join(ROOT, 'packages/cli/bin/tollgate.js') },
  ...(process.env.TOLLGATE_CLI_B ? [{ name: 'B', cli: process.env.TOLLGATE_CLI_B }] : []),
];
const IMAGES = process.env.IMAGES?.split(',');
const HAVE_PIGZ = spawnSync('pigz', ['--version']).status === 0;

const makeLayer = (name: string, tarCommand: string): LayerFile => makeGzipLayer(WORK, name, tarCommand);

const makeImage = (name: string, layers: LayerFile[]): Promise<string> => makeLayoutImage(WORK, name, layers);

interface Sample {
  seconds: number;
  cpu: number;
  rssMB: number;
}

/** Runs a command under GNU time: wall seconds, CPU seconds (user+sys of it and its children) and peak RSS. */
function measure(argv: string[], check?: (stdout: string) => void): Sample {
  const t0 = performance.now();
  const result = spawnSync('/usr/bin/time', ['-f', '%U %S %M', ...argv], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed: ${result.stderr}`);
  check?.(result.stdout);
  const [user, sys, rss] = result.stderr.trim().split('\n').pop()!.split(' ').map(Number);
  return { seconds, cpu: user! + sys!, rssMB: rss! / 1024 };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface Summary {
  seconds: number;
  cpu: number;
  rssMB: number;
}

function summarise(samples: Sample[]): Summary {
  return { seconds: median(samples.map((s) => s.seconds)), cpu: median(samples.map((s) => s.cpu)), rssMB: Math.max(...samples.map((s) => s.rssMB)) };
}

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const wanted = (name: string) => IMAGES === undefined || IMAGES.includes(name);
  const images: { key: string; name: string; layers: LayerFile[]; ref: string }[] = [];

  if (wanted('small')) {
    const small = makeLayer('small-files', 'tar -C / -cf - usr/lib/gcc usr/include usr/share/doc 2>/dev/null');
    images.push({ key: 'small', name: 'small files (gcc libs, headers, docs; 1 layer)', layers: [small], ref: await makeImage('small', [small]) });
  }
  if (wanted('debian')) {
    const debianRoot = join(import.meta.dirname, '.work', 'rootfs-debian');
    const haveDebian = existsSync(join(debianRoot, 'etc/debian_version'));
    if (!haveDebian) console.error('no debootstrapped rootfs at bench/.work/rootfs-debian (run: debootstrap --variant=minbase bookworm bench/.work/rootfs-debian); using /usr/share instead');
    const debian = makeLayer('debian', haveDebian ? `tar --numeric-owner -C '${debianRoot}' -cf - .` : `tar -C / -cf - usr/share 2>/dev/null`);
    images.push({ key: 'debian', name: haveDebian ? 'debian (debootstrap minbase, 1 layer)' : 'usr/share (1 layer)', layers: [debian], ref: await makeImage('debian', [debian]) });
  }
  if (wanted('multi')) {
    const multi = [
      makeLayer('usr-bin', 'tar -C / -cf - usr/bin 2>/dev/null'),
      makeLayer('usr-include', 'tar -C / -cf - usr/include 2>/dev/null'),
      makeLayer('usr-sbin-libexec', 'tar -C / -cf - usr/sbin usr/libexec 2>/dev/null'),
      makeLayer('usr-share', 'tar -C / -cf - usr/share 2>/dev/null'),
    ];
    images.push({ key: 'multi', name: 'multi (4 layers of /usr)', layers: multi, ref: await makeImage('multi', multi) });
  }
  if (wanted('big')) {
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
    images.push({ key: 'big', name: 'big (1 layer, ~1 GB tar)', layers: [big], ref: await makeImage('big', [big]) });
  }
  if (process.env.BUILD_ONLY) return;

  const rows: string[] = [];
  for (const image of images) {
    const files = image.layers.map((l) => `'${l.gz}'`).join(' ');
    const compressed = image.layers.reduce((s, l) => s + statSync(l.gz).size, 0);
    const uncompressed = image.layers.reduce((s, l) => s + l.tarBytes, 0);
    const commands: { label: string; argv: string[]; check?: (stdout: string) => void }[] = [
      { label: 'gzip|sha256sum', argv: ['bash', '-c', `for f in ${files}; do gzip -dc "$f" | sha256sum > /dev/null; done`] },
      ...(HAVE_PIGZ ? [{ label: 'pigz', argv: ['bash', '-c', `for f in ${files}; do pigz -dc "$f" > /dev/null; done`] }] : []),
      { label: 'sha256sum', argv: ['bash', '-c', `sha256sum ${files} > /dev/null`] },
      ...BUILDS.flatMap((build) =>
        [1, 2].map((concurrency) => ({
          label: `validate${build.name}-${concurrency}`,
          argv: [process.execPath, build.cli, 'validate', '--no-cache', '--json', '--concurrency', String(concurrency), image.ref],
          check: (stdout: string) => {
            if (!JSON.parse(stdout).ok) throw new Error(`validate reported problems for ${image.ref}`);
          },
        })),
      ),
    ];
    const samples = new Map<string, Sample[]>(commands.map((c) => [c.label, []]));
    for (const command of commands) measure(command.argv, command.check); // warm the page cache and the builds
    for (let run = 0; run < RUNS; run++) {
      for (const command of commands) samples.get(command.label)!.push(measure(command.argv, command.check));
    }
    const s = (label: string) => summarise(samples.get(label)!);
    const gzipSha = s('gzip|sha256sum');
    const pigz = HAVE_PIGZ ? s('pigz') : undefined;
    const cell = (label: string) => {
      const v = s(label);
      const vsPigz = pigz ? `, ${(pigz.seconds / v.seconds).toFixed(2)}× pigz` : '';
      return `${v.seconds.toFixed(2)} s (${(gzipSha.seconds / v.seconds).toFixed(2)}×${vsPigz}; CPU ${v.cpu.toFixed(2)} s)`;
    };
    for (const build of BUILDS) {
      const rss = Math.max(s(`validate${build.name}-1`).rssMB, s(`validate${build.name}-2`).rssMB);
      rows.push(
        `| ${image.name}${build.name ? ` [${build.name}]` : ''} | ${(compressed / 1e6).toFixed(0)} MB / ${(uncompressed / 1e6).toFixed(0)} MB | ` +
          `${gzipSha.seconds.toFixed(2)} s | ${pigz ? `${pigz.seconds.toFixed(2)} s` : '–'} | ${s('sha256sum').seconds.toFixed(2)} s | ` +
          `${cell(`validate${build.name}-1`)} | ${cell(`validate${build.name}-2`)} | ${rss.toFixed(0)} MB |`,
      );
      console.error(rows.at(-1));
    }
  }
  const load = sh('cat /proc/loadavg').split(' ').slice(0, 3).join(' ');
  const header =
    `Node ${process.versions.node}; median of ${RUNS} interleaved runs; load average at the end ${load}; ratios: reference time / validate time (>1 = validate faster)\n\n` +
    '| image | compressed / tar | `gzip -dc \\| sha256sum` | `pigz -dc` | `sha256sum` (blobs) | validate, 1 layer at a time (vs gzip\\|sha256sum, vs pigz; CPU) | validate, 2 at a time | peak RSS |\n|---|---|---|---|---|---|---|---|';
  const report = `${header}\n${rows.join('\n')}`;
  console.log(report);
  writeFileSync(join(WORK, 'last-result.md'), `${report}\n`);
}

await main();
