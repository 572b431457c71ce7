import type { Command } from 'commander';
import { formatPlatform, manifestTargets, parseReference, type ImageReference, type ManifestTarget, type RegistryClient } from '@tollgate/core';

export function addRecursiveOption(command: Command, description: string): Command {
  return command.option('--recursive', description, false);
}

/** The manifests a command works on, each pinned by digest: the one named, and with --recursive every one its index lists. */
export async function recursiveTargets(client: RegistryClient, reference: ImageReference, recursive: boolean): Promise<Array<{ target: ManifestTarget; reference: ImageReference }>> {
  const targets = await manifestTargets(client, reference, { recursive });
  return targets.map((target) => ({ target, reference: parseReference(`${reference.name}@${target.digest}`) }));
}

/** `sha256:… (linux/arm64)`, `sha256:… (index)`. */
export function targetLabel(target: ManifestTarget): string {
  const what = target.platform ? formatPlatform(target.platform) : target.parent === undefined ? (/index|manifest\.list/.test(target.mediaType) ? 'index' : 'image') : 'no platform';
  return `${target.digest} (${what})`;
}
