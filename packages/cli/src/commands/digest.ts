import { Command } from 'commander';
import { openRoot, openSource } from '@tollgate/core';
import { addRegistryOptions, registryOptionsFrom, type RegistryFlags } from '../options/registry-options.js';
import { writeOut } from '../output/write.js';
import { ExitCode } from '../exit-codes.js';
import { withStatus } from '../run-status.js';

export function digestCommand(): Command {
  const command = new Command('digest')
    .description('print the manifest digest of an image (like crane digest); the digest of an index for multi-platform images')
    .argument('<image>', 'image reference: [docker://]host/repo[:tag][@digest], oci:<dir>[:<tag>], docker-archive:<file>')
    .addHelpText('after', '\nExample:\n  tollgate digest localhost:5000/app:1.0');
  addRegistryOptions(command);
  return command.action(withStatus(async (reference: string, flags: RegistryFlags) => {
    const source = openSource(reference, { registry: registryOptionsFrom(flags) });
    try {
      const root = await openRoot(source);
      writeOut(root.digest);
    } finally {
      await source.close?.();
    }
    return ExitCode.Ok;
  }));
}
