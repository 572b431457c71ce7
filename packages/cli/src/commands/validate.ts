import { Command } from 'commander';
import { openImage, TollgateError, validateImage, type ValidationResult } from '@tollgate/core';
import { addDataOption, addJsonOption, addPlatformOption, platformFrom } from '../options/common-options.js';
import { openLayerIndexCache } from '../options/layer-index-cache.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { formatBytes, table, writeJson, writeOut } from '../output/write.js';
import { layerProgress } from '../progress/layer-progress.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface ValidateFlags extends RegistryFlags {
  platform?: string;
  json: boolean;
  data?: string;
  cache: boolean;
  concurrency: string;
}

export function validateCommand(): Command {
  const command = new Command('validate')
    .description('read every blob of an image and check the whole chain: manifest digest, config digest and size, every layer digest and size, every diffID, layer count against history')
    .argument('<image>', 'image reference: [docker://]host/repo[:tag][@digest], oci:<dir>[:<tag>], docker-archive:<file>[:<name:tag>]')
    .option('--no-cache', 'do not read or write the layer index cache')
    .option('--concurrency <n>', 'layers read at once', '2')
    .addHelpText('after', `
Exit status: 0 every check holds, 1 a mismatch was found (each is named), 2 the image could not be read.

Examples:
  tollgate validate localhost:5000/app@sha256:…
  tollgate validate oci:./layout:v1 --json`);
  addPlatformOption(command);
  addJsonOption(command);
  addDataOption(command);
  addRegistryOptions(command);
  return command.action(withStatus(async (reference: string, flags: ValidateFlags) => {
    const concurrency = Number(flags.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new TollgateError('USAGE', '--concurrency must be a whole number from 1 to 64');
    }
    const opened = await openImage(reference, { platform: platformFrom(flags.platform), registry: registryOptionsFrom(flags) });
    const store = await openLayerIndexCache(flags);
    const progress = layerProgress(opened.image.layers, !flags.json && process.stderr.isTTY === true);
    let result: ValidationResult;
    try {
      result = await validateImage(opened.image, { concurrency, store, onProgress: (i, bytes) => progress.update(i, bytes) });
    } finally {
      progress.stop();
      await store?.close();
      await opened.source.close?.();
    }
    if (flags.json) writeJson({ reference, ...result });
    else writeOut(renderValidation(reference, result));
    return result.ok ? ExitCode.Ok : ExitCode.CheckFailed;
  }));
}

function renderValidation(reference: string, result: ValidationResult): string {
  const rows = [['#', 'DIGEST', 'DIFFID', 'SIZE', 'FILES', 'STATUS']];
  for (const layer of result.layers) {
    rows.push([
      String(layer.index),
      layer.digest ?? layer.descriptor.digest,
      layer.diffID ?? '-',
      layer.size === undefined ? '-' : formatBytes(layer.size),
      layer.fileCount === undefined ? '-' : String(layer.fileCount),
      layer.ok ? 'ok' : 'FAILED',
    ]);
  }
  const lines = [
    `Image:     ${reference}`,
    `Manifest:  ${result.manifestDigest} (${result.mediaType}) ok`,
    `Config:    ${result.config.digest} ${result.config.ok ? 'ok' : 'FAILED'}`,
    table(rows),
  ];
  if (result.ok) {
    lines.push(`OK: manifest, config and ${result.layers.length} layer${result.layers.length === 1 ? '' : 's'} verified`);
  } else {
    lines.push(`FAILED: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'}`);
    for (const problem of result.problems) lines.push(`  - ${problem.message}`);
  }
  return lines.join('\n');
}
