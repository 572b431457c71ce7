import { Command, Option } from 'commander';
import { diffImages, openImage, TollgateError, type DiffSection, type LayerIndexStore, type LayerLimits, type OpenedImage } from '@tollgate/core';
import { addDataOption, addJsonOption, addPlatformOption, platformFrom } from '../options/common-options.js';
import { openLayerIndexCache } from '../options/layer-index-cache.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { renderDiff } from '../output/diff-render.js';
import { errorLine } from '../output/error-line.js';
import { writeErr, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface DiffFlags extends RegistryFlags {
  platform?: string;
  json: boolean;
  semantic: boolean;
  timestamps: boolean;
  ignore: string[];
  only?: string;
  data?: string;
  cache: boolean;
  concurrency: string;
  maxCompressionRatio?: string;
  maxLayerSize?: string;
}

const SECTIONS: readonly string[] = ['files', 'config', 'layers', 'manifest'];

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new TollgateError('USAGE', `${flag} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function sectionsFrom(only: string | undefined): DiffSection[] | undefined {
  if (only === undefined) return undefined;
  const list = only.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) {
    if (!SECTIONS.includes(s)) throw new TollgateError('USAGE', `--only takes ${SECTIONS.join(', ')} (comma-separated), got ${JSON.stringify(s)}`);
  }
  if (list.length === 0) throw new TollgateError('USAGE', '--only needs at least one section');
  return list as DiffSection[];
}

export function diffCommand(): Command {
  const command = new Command('diff')
    .description('show exactly what changed between two images: files of the merged filesystem, config, layers, manifests; security-relevant changes flagged')
    .argument('<imageA>', 'the "before" image: [docker://]host/repo[:tag][@digest], oci:<dir>[:<tag>], docker-archive:<file>[:<name:tag>]')
    .argument('<imageB>', 'the "after" image, any source')
    .option('--semantic', 'ignore what rebuilds change without changing meaning: timestamps, history, digests, media type spellings', false)
    .option('--timestamps', 'also compare file mtimes (rebuilt images differ in mtime everywhere)', false)
    .option('--ignore <glob>', 'leave out file changes whose path matches the glob (repeatable), e.g. "/var/cache/**"', collect, [])
    .addOption(new Option('--only <sections>', 'compare only these sections: files, config, layers (and manifest), comma-separated'))
    .option('--no-cache', 'do not read or write the layer index cache')
    .option('--concurrency <n>', 'layers read at once', '2')
    .option('--max-compression-ratio <n>', 'refuse layers that expand more than n times (decompression bombs; default 1000)')
    .option('--max-layer-size <bytes>', 'refuse layers larger than this uncompressed (default 64 GiB)')
    .addHelpText('after', `
Output: a summary (file counts, layers shared/changed, config changes), the flagged security-relevant changes,
then the changed paths ("+" added, "-" removed, "~" modified, with what changed). --json prints the full
ImageDiff (schemaVersion 1, documented in docs/diff.md) with every change and its before/after values.

Exit status: 0 identical, 1 different, 2 error (unreadable image, a layer failing its digest, a limit passed).

Examples:
  tollgate diff localhost:5000/app:1.0 localhost:5000/app:1.1
  tollgate diff oci:./layout:v1 oci:./layout:v2 --json | jq '.files[] | select(.flags != [])'
  tollgate diff docker-archive:old.tar registry.example.com/app@sha256:… --semantic --ignore '/var/cache/**'
  tollgate diff app:1 app:2 --only config --platform linux/arm64`);
  addPlatformOption(command);
  addJsonOption(command);
  addDataOption(command);
  addRegistryOptions(command);
  return command.action(withStatus(async (referenceA: string, referenceB: string, flags: DiffFlags) => {
    try {
      return await runDiff(referenceA, referenceB, flags);
    } catch (error) {
      // Every failure here is an error (exit 2), including digest mismatches: a diff of corrupted content is no answer.
      writeErr(errorLine(error));
      return ExitCode.Error;
    }
  }));
}

async function runDiff(referenceA: string, referenceB: string, flags: DiffFlags): Promise<number> {
  const concurrency = Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new TollgateError('USAGE', '--concurrency must be a whole number from 1 to 64');
  }
  const only = sectionsFrom(flags.only);
  const limits: LayerLimits = {};
  const ratio = positive('--max-compression-ratio', flags.maxCompressionRatio);
  const size = positive('--max-layer-size', flags.maxLayerSize);
  if (ratio !== undefined) limits.maxCompressionRatio = ratio;
  if (size !== undefined) limits.maxUncompressedBytes = size;
  const options = { platform: platformFrom(flags.platform), registry: registryOptionsFrom(flags) };

  const opened: OpenedImage[] = [];
  let store: LayerIndexStore | undefined;
  try {
    opened.push(await openImage(referenceA, options));
    opened.push(await openImage(referenceB, options));
    store = await openLayerIndexCache(flags);
    const result = await diffImages(opened[0]!, opened[1]!, {
      semantic: flags.semantic,
      timestamps: flags.timestamps,
      ignore: flags.ignore,
      only,
      store,
      limits,
      concurrency,
      references: { a: referenceA, b: referenceB },
    });
    if (flags.json) writeJson(result);
    else writeOut(renderDiff(result));
    return result.identical ? ExitCode.Ok : ExitCode.CheckFailed;
  } finally {
    await store?.close();
    await Promise.all(opened.map((o) => o.source.close?.()));
  }
}
