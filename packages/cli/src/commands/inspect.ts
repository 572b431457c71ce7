import { Command } from 'commander';
import { formatPlatform, openImage, type OpenedImage } from '@tollgate/core';
import { addJsonOption, addPlatformOption, platformFrom } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { formatBytes, table, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface InspectFlags extends RegistryFlags {
  platform?: string;
  json: boolean;
}

export function inspectCommand(): Command {
  const command = new Command('inspect')
    .description('show an image\'s manifest digest, platforms, config and layers without reading any layer')
    .argument('<image>', 'image reference: [docker://]host/repo[:tag][@digest], oci:<dir>[:<tag>], docker-archive:<file>[:<name:tag>]')
    .addHelpText('after', `
Examples:
  tollgate inspect docker.io/library/alpine:3.20
  tollgate inspect oci:./layout:v1 --json
  tollgate inspect docker-archive:./app.tar --platform linux/arm64`);
  addPlatformOption(command);
  addJsonOption(command);
  addRegistryOptions(command);
  return command.action(withStatus(async (reference: string, flags: InspectFlags) => {
    const opened = await openImage(reference, { platform: platformFrom(flags.platform), registry: registryOptionsFrom(flags) });
    try {
      const report = await inspectReport(reference, opened);
      if (flags.json) writeJson(report);
      else writeOut(renderInspect(report));
    } finally {
      await opened.source.close?.();
    }
    return ExitCode.Ok;
  }));
}

export async function inspectReport(reference: string, opened: OpenedImage) {
  const { root, image } = opened;
  const config = await image.config();
  return {
    reference,
    digest: root.digest,
    mediaType: root.mediaType,
    platforms:
      root.kind === 'index'
        ? root.manifests.map((m) => ({ digest: m.digest, mediaType: m.mediaType, size: m.size, platform: m.platform ? formatPlatform(m.platform) : undefined }))
        : undefined,
    image: {
      digest: image.digest,
      mediaType: image.mediaType,
      platform: config.os && config.architecture ? formatPlatform({ os: config.os, architecture: config.architecture, variant: config.variant }) : undefined,
      config: { digest: image.configDescriptor.digest, size: image.configDescriptor.size },
      created: config.created,
      user: config.config?.User ?? '',
      entrypoint: config.config?.Entrypoint ?? null,
      cmd: config.config?.Cmd ?? null,
      layers: image.layers.map((layer, i) => ({
        digest: layer.digest,
        size: layer.size,
        mediaType: layer.mediaType,
        diffID: config.rootfs.diff_ids[i],
        urls: layer.urls,
      })),
    },
  };
}

function renderInspect(report: Awaited<ReturnType<typeof inspectReport>>): string {
  const lines = [`Reference:   ${report.reference}`, `Digest:      ${report.digest}`, `Media type:  ${report.mediaType}`];
  if (report.platforms) {
    lines.push('Platforms:');
    lines.push(indent(table(report.platforms.map((p) => [p.platform ?? '(none)', p.digest, p.mediaType]))));
    lines.push(`Selected:    ${report.image.digest} (${report.image.platform ?? 'unknown platform'})`);
  }
  const { image } = report;
  lines.push(
    `Platform:    ${image.platform ?? 'unknown'}`,
    `Config:      ${image.config.digest} (${image.config.size} bytes)`,
    `Created:     ${image.created ?? 'unknown'}`,
    `User:        ${image.user === '' ? '(root, not set)' : image.user}`,
    `Entrypoint:  ${JSON.stringify(image.entrypoint)}`,
    `Cmd:         ${JSON.stringify(image.cmd)}`,
    `Layers:      ${image.layers.length}, ${formatBytes(image.layers.reduce((sum, l) => sum + l.size, 0))} compressed`,
  );
  lines.push(indent(table([['#', 'DIGEST', 'SIZE', 'MEDIA TYPE', 'DIFFID'], ...image.layers.map((l, i) => [String(i), l.digest, formatBytes(l.size), l.mediaType, l.diffID ?? '(missing)'])])));
  return lines.join('\n');
}

function indent(text: string): string {
  return text.split('\n').map((line) => `  ${line}`).join('\n');
}
