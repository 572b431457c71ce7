import { Command } from 'commander';
import { VERSION } from './version.js';

/** The program without its commands: name, description, --version, help text. */
export function createRootProgram(): Command {
  return new Command('tollgate')
    .description('container image integrity: know exactly what is in an image, prove who made it, block everything else')
    .version(VERSION, '-v, --version', 'print the tollgate version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Image references (skopeo transports):
  [docker://]host/repo[:tag][@digest]   a registry (loopback registries may be plain HTTP)
  oci:<dir>[:<tag>]                     an OCI image layout directory
  docker-archive:<file>[:<name:tag>]    a \`docker save\` archive

Exit status: 0 success, 1 a check failed (mismatch, denied, unverified), 2 usage or operational error.
Docs: docs/ in the tollgate repository.`);
}
