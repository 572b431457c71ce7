import { parseLayoutImageReference, TollgateError, type LayoutImageReference } from '@tollgate/core';

/** `oci:<dir>[:<tag>|@<digest>]` for sign, attest and their verifiers: the layout image, or undefined (a registry image). */
export function layoutReference(image: string): LayoutImageReference | undefined {
  return image.startsWith('oci:') ? parseLayoutImageReference(image) : undefined;
}

/** --recursive walks a registry's index through its client; a layout's platforms are named one by one instead. */
export function refuseRecursiveOnLayout(recursive: boolean, command: string): void {
  if (recursive) {
    throw new TollgateError('USAGE', `--recursive works on registry images only; for a layout, ${command} each manifest by oci:<dir>@<digest>`);
  }
}

/** A layout keeps its signatures one way (the referrers tag index, as copy writes it): the registry storage choices are refused, not ignored. */
export function refuseRegistryStorageOnLayout(flags: { legacy: boolean; registryReferrers: string }): void {
  if (flags.legacy) throw new TollgateError('USAGE', '--legacy works on registry images only; a layout stores signatures as referrers in its sha256-<hex> tag, which verify reads');
  if (flags.registryReferrers === 'never') throw new TollgateError('USAGE', '--registry-referrers never cannot apply to a layout: the sha256-<hex> tag is where a layout keeps its signatures');
}
