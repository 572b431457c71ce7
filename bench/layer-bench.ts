/**
 * Single-pass layer reading against the tools a user would reach for: `gzip -dc | sha256sum` (diffID) and
 * `sha256sum` (blob digest). Run: pnpm exec tsx bench/layer-bench.ts
 *
 * Builds bench/.work/layer.tar (~500 MB of this machine's /usr: binaries, libraries' helpers, headers) once, with
 * its .gz and .zst, and reuses them on later runs. Every number is measured in the same run; each is the best of
 * RUNS runs with a warm page cache.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readLayer, type ReadLayerOptions } from '../packages/core/src/index.js';
import { bestOf } from './support/timing.js';

const WORK = join(import.meta.dirname, '.work');
const TAR = join(WORK, 'layer.tar');
const GZ = `${TAR}.gz`;
const ZST = `${TAR}.zst`;
const TARGET_BYTES = 500 * 1024 * 1024;
const CANDIDATES = ['usr/bin', 'usr/include', 'usr/sbin', 'usr/libexec', 'usr/share', 'usr/lib'];
const RUNS = Number(process.env.RUNS ?? 3);
const READ_HWM = 1024 * 1024;

function sh(cmd: string): void {
  const r = spawnSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`failed: ${cmd}`);
}

function prepare(): void {
  mkdirSync(WORK, { recursive: true });
  if (!existsSync(TAR)) {
    const dirs: string[] = [];
    let total = 0;
    for (const dir of CANDIDATES) {
      const kb = Number(execFileSync('du', ['-sk', `/${dir}`]).toString().split('\t')[0]);
      if (total + kb * 1024 > TARGET_BYTES * 1.12) continue;
      dirs.push(dir);
      total += kb * 1024;
      if (total >= TARGET_BYTES * 0.9) break;
    }
    console.log(`building ${TAR} from /${dirs.join(' /')} …`);
    sh(`tar --format=pax -C / -cf '${TAR}' ${dirs.join(' ')} 2>/dev/null || test -s '${TAR}'`);
  }
  if (!existsSync(GZ)) {
    console.log('gzip -6 …');
    sh(`gzip -6 -c '${TAR}' > '${GZ}.tmp' && mv '${GZ}.tmp' '${GZ}'`);
  }
  if (!existsSync(ZST)) {
    console.log('zstd -3 …');
    sh(`zstd -q -3 -c '${TAR}' > '${ZST}.tmp' && mv '${ZST}.tmp' '${ZST}'`);
  }
}

const best = (fn: () => Promise<unknown> | unknown): Promise<number> => bestOf(RUNS, fn);

const shell = (cmd: string) => () => sh(cmd);
const ours = (file: string, options: ReadLayerOptions) => async () => {
  await readLayer(createReadStream(file, { highWaterMark: READ_HWM }), options);
};

prepare();
const tarBytes = statSync(TAR).size;
const mb = tarBytes / 1e6;
let entries = 0;
{
  const r = await readLayer(createReadStream(TAR), { compression: 'none' });
  entries = r.files?.length ?? 0;
}
console.log(
  `layer: ${mb.toFixed(0)} MB tar, ${entries} entries, ${(statSync(GZ).size / 1e6).toFixed(0)} MB gzip, ${(statSync(ZST).size / 1e6).toFixed(0)} MB zstd; best of ${RUNS}\n`,
);

const rows: [string, number][] = [];
const measure = async (name: string, fn: () => Promise<void> | void) => {
  const s = await best(fn);
  rows.push([name, s]);
  console.log(`${name.padEnd(46)} ${s.toFixed(2).padStart(6)} s  ${(mb / s).toFixed(0).padStart(5)} MB/s (uncompressed)`);
  return s;
};

const gzipRef = await measure('gzip -dc layer.tar.gz | sha256sum', shell(`gzip -dc '${GZ}' | sha256sum`));
const shaGz = await measure('sha256sum layer.tar.gz', shell(`sha256sum '${GZ}'`));
const shaTar = await measure('sha256sum layer.tar', shell(`sha256sum '${TAR}'`));
const zstdRef = await measure('zstd -dc layer.tar.zst | sha256sum', shell(`zstd -qdc '${ZST}' | sha256sum`));
const gzIndex = await measure('readLayer gzip, indexFiles: true', ours(GZ, { compression: 'gzip' }));
const gzNoIndex = await measure('readLayer gzip, indexFiles: false', ours(GZ, { compression: 'gzip', indexFiles: false }));
const zstIndex = await measure('readLayer zstd, indexFiles: true', ours(ZST, { compression: 'zstd' }));
const zstNoIndex = await measure('readLayer zstd, indexFiles: false', ours(ZST, { compression: 'zstd', indexFiles: false }));
const tarIndex = await measure('readLayer tar, indexFiles: true', ours(TAR, { compression: 'none' }));
const tarNoIndex = await measure('readLayer tar, indexFiles: false', ours(TAR, { compression: 'none', indexFiles: false }));

const ratio = (ref: number, s: number) => (ref / s).toFixed(2);
console.log('\nspeed ratios (>1 = faster than the reference):');
console.log(`  gzip,  index    vs gzip -dc | sha256sum: ${ratio(gzipRef, gzIndex)}×`);
console.log(`  gzip,  no index vs gzip -dc | sha256sum: ${ratio(gzipRef, gzNoIndex)}×  (we also hash the blob: sha256sum .gz alone takes ${shaGz.toFixed(2)} s)`);
console.log(`  zstd,  index    vs zstd -dc | sha256sum: ${ratio(zstdRef, zstIndex)}×`);
console.log(`  zstd,  no index vs zstd -dc | sha256sum: ${ratio(zstdRef, zstNoIndex)}×`);
console.log(`  tar,   index    vs sha256sum layer.tar:  ${ratio(shaTar, tarIndex)}×`);
console.log(`  tar,   no index vs sha256sum layer.tar:  ${ratio(shaTar, tarNoIndex)}×`);
