/**
 * Image diff against reading the images: `gzip -dc` of every layer is the reference (the least any tool that
 * unpacks layers must pay). Run: pnpm exec tsx bench/diff-bench.ts
 *
 * Images (built once under bench/.work/diff/, reused on later runs):
 *  - v1, v2: a real-sized base layer — a debootstrapped Debian 12 minbase rootfs (bench/.work/rootfs-debian; made
 *    with debootstrap when missing and possible, else ~220 MB of this machine's /usr) — plus one small top layer
 *    that differs between v1 and v2 (a "package" update: a few files changed, one removed, one added);
 *  - other: an unrelated ~220 MB image (one layer of /usr directories) for the cold full diff.
 *
 * Measured in-process with diffImages (the library; the CLI adds Node's start-up, ~0.2 s, printed separately):
 *  - reference: `gzip -dc` of all of v1's layers to /dev/null;
 *  - cold diff v1→v2 (empty index store: the base is read once, the tops once each);
 *  - warm diff v1→v2 (store filled: no blob is read) — target < 5% of the reference;
 *  - cold diff v1→other vs `gzip -dc` of both images — target within 1.2×.
 * Each figure is the best of RUNS (default 3) runs with a warm page cache. Results are printed and written into the
 * "Diff" section of docs/benchmarks.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffImages, LayerIndexStore, openImage, type ImageDiff } from '../packages/core/src/index.js';
import { makeGzipLayer, makeLayoutImage, sh, type GzipLayer as LayerFile } from './support/layers.js';
import { bestOf } from './support/timing.js';

const ROOT = join(import.meta.dirname, '..');
const WORK = join(import.meta.dirname, '.work', 'diff');
const DEBIAN = join(import.meta.dirname, '.work', 'rootfs-debian');
const CLI = join(ROOT, 'packages/cli/bin/tollgate.js');
const RUNS = Number(process.env.RUNS ?? 3);
const OTHER_CANDIDATES = ['usr/include', 'usr/share/doc', 'usr/share/locale', 'usr/share/man', 'usr/share/perl', 'usr/lib/python3', 'usr/libexec', 'usr/share/i18n', 'usr/lib/gcc', 'usr/share'];
const OTHER_TARGET = 220 * 1024 * 1024;



const makeLayer = (name: string, tarCommand: string): LayerFile => makeGzipLayer(WORK, name, tarCommand);

/** A small tar of files written to a scratch dir: the "package" of v1 or v2. */
function topLayer(name: string, version: 1 | 2): LayerFile {
  const dir = join(WORK, `${name}-root`);
  if (!existsSync(join(WORK, `${name}.tar.gz.meta`))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(join(dir, 'usr/share/app'), { recursive: true });
    mkdirSync(join(dir, 'usr/bin'), { recursive: true });
    for (let i = 0; i < 40; i++) writeFileSync(join(dir, 'usr/share/app', `data-${i}.txt`), `${i}\n`.repeat(500 + (version === 2 && i < 5 ? 1 : 0)));
    writeFileSync(join(dir, 'usr/bin/app'), `#!/bin/sh\necho app v${version}\n`);
    if (version === 1) writeFileSync(join(dir, 'usr/share/app/legacy.txt'), 'old\n');
    else writeFileSync(join(dir, 'usr/share/app/new.txt'), 'new\n');
  }
  return makeLayer(name, `tar --format=pax --numeric-owner --mtime=@${version} -C '${dir}' -cf - usr`);
}

const makeImage = (name: string, layers: LayerFile[]): Promise<string> => makeLayoutImage(WORK, name, layers);

function baseTarCommand(): { label: string; command: string } {
  if (!existsSync(join(DEBIAN, 'etc/debian_version'))) {
    console.error(`no rootfs at ${DEBIAN}; trying debootstrap --variant=minbase bookworm (about a minute) …`);
    const r = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', DEBIAN], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 });
    if (r.status !== 0) rmSync(DEBIAN, { recursive: true, force: true });
  }
  if (existsSync(join(DEBIAN, 'etc/debian_version'))) {
    return { label: 'Debian 12 minbase rootfs (debootstrap)', command: `tar --format=pax --numeric-owner -C '${DEBIAN}' -cf - .` };
  }
  return { label: '/usr/lib + /usr/bin of this machine', command: `tar --format=pax --numeric-owner -C / -cf - usr/bin usr/lib/x86_64-linux-gnu 2>/dev/null` };
}

function otherDirs(): string[] {
  const dirs: string[] = [];
  let total = 0;
  for (const dir of OTHER_CANDIDATES) {
    if (!existsSync(`/${dir}`) || dirs.some((d) => dir.startsWith(`${d}/`) || d.startsWith(`${dir}/`))) continue;
    const kb = Number(sh(`du -sk /${dir}`).split('\t')[0]);
    if (total + kb * 1024 > OTHER_TARGET * 1.3) continue;
    dirs.push(dir);
    total += kb * 1024;
    if (total >= OTHER_TARGET) break;
  }
  return dirs;
}

const best = (fn: () => Promise<unknown> | unknown): Promise<number> => bestOf(RUNS, fn);

async function diffOnce(a: string, b: string, store: LayerIndexStore | undefined): Promise<ImageDiff> {
  const [ia, ib] = await Promise.all([openImage(a), openImage(b)]);
  try {
    return await diffImages(ia, ib, { store });
  } finally {
    await Promise.all([ia.source.close?.(), ib.source.close?.()]);
  }
}

async function coldDiff(a: string, b: string): Promise<ImageDiff> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-diff-bench-'));
  const store = await LayerIndexStore.open(dir);
  try {
    return await diffOnce(a, b, store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const MB = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(0)} MB` : `${(n / 1e3).toFixed(0)} kB`);
const s = (n: number): string => `${n.toFixed(3)} s`;

async function main(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  const base = baseTarCommand();
  const baseLayer = makeLayer('base', base.command);
  const top1 = topLayer('top1', 1);
  const top2 = topLayer('top2', 2);
  const dirs = otherDirs();
  const otherLayer = makeLayer('other', `tar --format=pax --numeric-owner -C / -cf - ${dirs.join(' ')} 2>/dev/null`);
  const v1 = await makeImage('v1', [baseLayer, top1]);
  const v2 = await makeImage('v2', [baseLayer, top2]);
  const other = await makeImage('other', [otherLayer]);
  const gzBytes = (l: LayerFile): number => Number(sh(`stat -c %s '${l.gz}'`));

  const gunzip = (layers: LayerFile[]) => async () => sh(`gzip -dc ${layers.map((l) => `'${l.gz}'`).join(' ')} > /dev/null`);
  const refV1 = await best(gunzip([baseLayer, top1]));
  const refBoth = await best(gunzip([baseLayer, top1, otherLayer]));

  const check = await coldDiff(v1, v2);
  const summary = check.summary.files;
  const cold = await best(() => coldDiff(v1, v2));
  const warmDir = mkdtempSync(join(tmpdir(), 'tollgate-diff-bench-warm-'));
  const warmStore = await LayerIndexStore.open(warmDir);
  await diffOnce(v1, v2, warmStore);
  const warmCheck = await diffOnce(v1, v2, warmStore);
  const warm = await best(() => diffOnce(v1, v2, warmStore));
  await warmStore.close();
  const cliWarm = await best(async () => {
    const r = spawnSync(process.execPath, [CLI, 'diff', v1, v2, '--json', '--data', warmDir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 1) throw new Error(`tollgate diff exited ${r.status}: ${r.stderr}`);
  }).catch(() => NaN);
  const startup = await best(async () => {
    const r = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error('tollgate --version failed');
  }).catch(() => NaN);
  rmSync(warmDir, { recursive: true, force: true });
  const unrelated = await coldDiff(v1, other);
  const coldUnrelated = await best(() => coldDiff(v1, other));

  const rows = [
    ['`gzip -dc` of v1 (reference)', s(refV1), '–', ''],
    ['cold diff v1→v2 (empty store)', s(cold), `${(cold / refV1).toFixed(2)}×`, `${check.stats.layersIndexed} layers read, ${check.stats.pathsCompared} paths compared`],
    ['warm diff v1→v2 (store filled)', s(warm), `**${((warm / refV1) * 100).toFixed(1)}%** (target < 5%)`, `${warmCheck.stats.layersFromCache}/${warmCheck.stats.layersIndexed} indexes from the store, ${warmCheck.stats.bytesRead} bytes read`],
    ['warm diff v1→v2, CLI (`tollgate diff --json`, new process)', Number.isNaN(cliWarm) ? 'n/a (build the CLI)' : s(cliWarm), Number.isNaN(cliWarm) ? '' : `${((cliWarm / refV1) * 100).toFixed(1)}%`, Number.isNaN(startup) ? '' : `of which ${s(startup)} is start-up alone (\`tollgate --version\`)`],
    ['`gzip -dc` of v1 and other (reference)', s(refBoth), '–', ''],
    ['cold diff v1→other (unrelated)', s(coldUnrelated), `**${(coldUnrelated / refBoth).toFixed(2)}×** (target ≤ 1.2×)`, `${unrelated.summary.files.added} added, ${unrelated.summary.files.removed} removed, ${unrelated.summary.files.modified} modified`],
  ];
  const date = new Date().toISOString().slice(0, 10);
  const report = [
    '## Diff — `bench/diff-bench.ts` (issue 3)',
    '',
    `\`diffImages\` in-process (the CLI adds Node's start-up). v1 and v2 share a real-sized base layer — ${base.label},`,
    `${MB(baseLayer.tarBytes)} tar / ${MB(gzBytes(baseLayer))} gzip — and differ only in a small top layer (${MB(top1.tarBytes)} tar: ${summary.added} added,`,
    `${summary.removed} removed, ${summary.modified} modified files between them). "other" is an unrelated image, one layer of this machine's`,
    `/${dirs.join(', /')}: ${MB(otherLayer.tarBytes)} tar / ${MB(gzBytes(otherLayer))} gzip. Cold = a new, empty index store; warm = the`,
    `store already holds every layer's index (no blob is read). Best of ${RUNS} runs, warm page cache. Unlike the sections`,
    'above, the ratios here are times relative to the reference, as the targets are stated (lower is better).',
    '',
    `Measured ${date} (1-minute load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores at the end of the run; other work on a busy`,
    'machine makes the cold figures vary by ±30% between runs, the warm figure does not move):',
    '',
    '| run | time | time vs reference (lower is better) | notes |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    '- Why the warm diff is cheap: shared layers (same diffID) are indexed once and their index comes from the store',
    '  by diffID; the shared prefix is merged once for both images, and only the paths the differing top layers touch',
    '  are compared.',
    '- Why the cold unrelated diff stays close to `gzip -dc`: one streaming pass per layer (blob digest, gunzip, diffID,',
    '  per-file sha256) with two layers read in parallel, then an in-memory merge and compare of the file indexes.',
    '',
  ].join('\n');
  console.log(report);
  writeSection(report);
}

/** Replaces (or appends) the "## Diff" section of docs/benchmarks.md, leaving other sections alone. */
function writeSection(section: string): void {
  const file = join(ROOT, 'docs', 'benchmarks.md');
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = current.search(/^## Diff\b/m);
  let next: string;
  if (start < 0) {
    next = `${current.trimEnd()}\n\n${section}`;
  } else {
    const rest = current.slice(start + 1);
    const end = rest.search(/^## /m);
    next = current.slice(0, start) + section + (end < 0 ? '' : `\n${rest.slice(end)}`);
  }
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);
}

await main();
