import { Command, Option } from 'commander';
import { claimsImageNames, copyImage, openCopyTarget, openSource, parseOnly, parsePlatform, parseReference, parseTransportReference, TollgateError, type ContentSource, type CopyResult, type TransportReference } from '@tollgate/core';
import { addJsonOption } from '../options/common-options.js';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { copyProgress } from '../progress/copy-progress.js';
import { writeErr, writeJson, writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

interface CopyFlags extends RegistryFlags {
  only?: string[];
  platform?: string;
  allPlatforms: boolean;
  force: boolean;
  json: boolean;
}

export function copyCommand(): Command {
  const command = new Command('copy')
    .description('copy an image with its signatures, attestations and other referrers, digests unchanged (cosign copy): registry, OCI layout')
    .argument('<source>', 'what to copy: [docker://]host/repo[:tag|@digest], oci:<dir>[:<tag>] or docker-archive:<file>[:<name:tag>]')
    .argument('<destination>', 'where to: [docker://]host/repo[:tag] (tag default: latest) or oci:<dir>[:<tag>] (tag default: the source\'s)')
    .addOption(new Option('--only <kinds>', 'copy only these attachments, not the image: sig, att, sbom (comma-separated, cosign\'s flag)').argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]))
    .option('--platform <os/arch[/variant]>', 'copy only this platform\'s manifest of a multi-platform image (and its attachments); the index is not copied')
    .option('--all-platforms', 'copy the whole index and every platform (the default, as cosign)', false)
    .option('-f, --force', 'move a destination tag that names another digest (the image tag, or a legacy .sig/.att/.sbom tag)', false);
  addJsonOption(command);
  addRegistryOptions(command);
  command.addHelpText('after', `
Every manifest and blob keeps its digest, so signatures still verify at the destination. Copied with the image:
referrers (OCI 1.1 referrers API or the sha256-<hex> referrers tag; written to the destination the same way) and
cosign's legacy sha256-<hex>.sig/.att/.sbom tags — of the image, of every platform manifest of an index, and of
the attachments themselves (a signature on an SBOM). Every blob is checked against its digest while it streams and
nothing of a blob that does not match is stored; the destination tag is written last. Blobs already at the
destination are skipped (run the same copy again to resume), and blobs in the same registry are mounted, not
uploaded. An OCI layout gets its blobs first and index.json last (atomically), so a failed copy leaves it as it
was. A docker-archive cannot be a destination (it keeps neither digests nor signatures). As a source, an archive
without a registry manifest (before Docker 25, or written by skopeo) gets one rebuilt: Docker schema 2, the config
byte for byte, uncompressed layers whose digests are the config's diff_ids (each checked); the image's original
manifest digest is not kept. The archive is read before anything is written, and a layout destination given no
tag takes the tag of the image's only RepoTags entry (else latest).

Without --force, a destination tag that names another digest is an error (exit 2). The same registry flags apply
to both ends. Progress shows on stderr when it is a terminal; stdout gets the destination pinned to the digest.

Exit status: 0 copied, 1 the source is not what its digests say (nothing of it kept; for an archive also a layer
that is not its diff_id, or an entry or link climbing out of it), 2 usage, existing tag, registry or file error
(a damaged archive, or several images and none named).

Examples:
  tollgate copy registry.example.com/app:v1 prod.example.com/app:v1
  tollgate copy localhost:5000/app:v1 oci:/media/usb/airgap:v1          # then serve it with an oci: upstream
  tollgate copy localhost:5000/app:v1 localhost:5000/mirror/app:v1 --only sig,att
  tollgate copy localhost:5000/app:v1 localhost:5000/app-arm64:v1 --platform linux/arm64 --force --json
  tollgate copy docker-archive:app.tar:app:v1 localhost:5000/app:v1   # docker save / skopeo archive`);
  return command.action(withStatus(async (sourceText: string, destinationText: string, flags: CopyFlags) => {
    if (flags.platform !== undefined && flags.allPlatforms) throw new TollgateError('USAGE', '--platform and --all-platforms exclude each other: give one');
    const platform = flags.platform !== undefined ? parsePlatform(flags.platform) : undefined;
    let only;
    if (flags.only !== undefined) {
      const parsed = parseOnly(flags.only);
      if ('error' in parsed) throw new TollgateError('USAGE', parsed.error);
      only = parsed.kinds;
    }
    const registry = registryOptionsFrom(flags);
    const sourceRef = parseTransportReference(sourceText);
    const source = openSource(sourceRef, { registry });
    const progress = copyProgress();
    let result: CopyResult;
    let destinationDescription: string;
    try {
      // An archive is read (manifest.json, config, the selected image) before anything is opened at the destination:
      // a damaged or ambiguous archive then leaves no trace there, not even a new empty layout.
      const defaultTag = sourceTag(sourceRef) ?? (await archiveTag(sourceRef, source)) ?? 'latest';
      const destination = await openCopyTarget(destinationText, { registry, defaultTag });
      result = await copyImage(source, destination.target, {
        ...(destination.tag !== undefined ? { tag: destination.tag } : {}),
        ...(destination.digest !== undefined ? { expectDigest: destination.digest } : {}),
        ...(platform !== undefined ? { platform } : {}),
        ...(only !== undefined ? { only } : {}),
        force: flags.force,
        ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
      });
      destinationDescription = destination.target.description;
    } finally {
      progress.stop();
      await source.close?.();
    }
    const pinned = `${destinationDescription.replace(/^docker:\/\//, '')}@${result.digest}`;
    if (flags.json) {
      writeJson({ ...result, reference: pinned });
    } else {
      for (const warning of result.warnings) writeErr(`warning: ${warning}`);
      const copied = result.attachments.filter((a) => a.status === 'copied').length;
      writeErr(`Copied ${result.source} to ${result.destination}${result.tag !== undefined ? `:${result.tag}` : ''}: ${result.blobs.copied} blobs uploaded (${result.blobs.bytes} bytes), ${result.blobs.mounted} mounted, ${result.blobs.present} already there; ${result.attachments.length} attachments (${copied} new)`);
      writeOut(pinned);
    }
    return ExitCode.Ok;
  }));
}

/** The tag the source names, for a layout destination given without one. */
function sourceTag(reference: TransportReference): string | undefined {
  switch (reference.transport) {
    case 'docker':
      return reference.reference.digest === undefined ? reference.reference.tag : undefined;
    case 'oci':
      return reference.tag;
    case 'docker-archive': {
      const name = reference.reference;
      if (name === undefined || name.startsWith('@')) return undefined;
      return name.slice(name.lastIndexOf(':') + 1);
    }
  }
}

/**
 * A docker archive named without a tag (`docker-archive:<file>` or `:@<index>`): the tag of the selected image's
 * only RepoTags entry, so `copy docker-archive:app.tar oci:<dir>` keeps `app:v1` as `v1`. A claim of the archive,
 * used for nothing but the name of a layout tag; none with several tags, or none.
 */
async function archiveTag(reference: TransportReference, source: ContentSource): Promise<string | undefined> {
  if (reference.transport !== 'docker-archive' || !claimsImageNames(source)) return undefined;
  const tags = await source.claimedImageNames();
  if (tags.length !== 1) return undefined;
  try {
    const parsed = parseReference(tags[0]!);
    return parsed.digest === undefined ? parsed.tag : undefined;
  } catch {
    return undefined;
  }
}
